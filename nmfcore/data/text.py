"""Text: document-term matrices and raw documents vectorised with scikit-learn.

X is terms x documents (sparse CSR): every document is a column.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from nmfcore.data.arrays import Table
from nmfcore.data.dataset import Dataset
from nmfcore.data.errors import DataError
from nmfcore.data.validate import finish

VECTORIZERS = ("count", "tfidf")


def from_dtm(matrix: Any, *, documents_are: str, terms: Sequence[str] | None,
             documents: Sequence[str] | None, origin: str, labels: Any = None,
             steps: Sequence[str] = (), **checks: Any) -> Dataset:
    """Wrap a document-term matrix as a terms x documents :class:`Dataset`.

    Parameters
    ----------
    matrix : array-like or sparse
        Shape (n_documents, n_terms) when ``documents_are="rows"``, else (n_terms, n_documents).
    documents_are : {"rows", "columns"}
    terms, documents : sequence of str, optional
        Vocabulary (n_terms) and document names (n_documents).
    origin : str
        Description for messages and provenance.
    labels : array-like, shape (n_documents,), optional
    steps : sequence of str
        Preprocessing already applied.

    Returns
    -------
    Dataset
        X sparse CSR of shape (n_terms, n_documents).
    """
    if documents_are not in ("rows", "columns"):
        raise ValueError(f"documents_are={documents_are!r} is not valid; choose 'rows' or 'columns'")
    matrix = sp.csr_matrix(matrix)
    X = matrix.T.tocsr() if documents_are == "rows" else matrix
    label_array = None if labels is None else np.asarray(labels).ravel()
    return finish(
        X, "text", what=origin, feature_names=terms, item_names=documents, steps=list(steps),
        labels=label_array,
        label_options={} if label_array is None else {"class": label_array},
        meta={"orientation": f"terms x documents (documents were {documents_are} in the file)"},
        **checks,
    )


def vectorize(texts: Sequence[str], *, names: Sequence[str], origin: str,
              vectorizer: str = "count", stop_words: str | None = "english",
              min_df: float = 1, max_df: float = 1.0, max_features: int | None = None,
              label_options: dict[str, np.ndarray] | None = None, **checks: Any) -> Dataset:
    """Turn raw documents into a terms x documents matrix.

    Parameters
    ----------
    texts : sequence of str, length n_documents
    names : sequence of str, length n_documents
    origin : str
        Description for messages and provenance.
    vectorizer : {"count", "tfidf"}
        scikit-learn's ``CountVectorizer`` (raw counts) or ``TfidfVectorizer``.
    stop_words : "english" or None
    min_df, max_df : int or float
        Document-frequency bounds, as in scikit-learn (int = count, float = proportion).
    max_features : int, optional
        Keep only the most frequent terms.
    label_options : dict of str to ndarray, optional
        Per-document annotations; the first becomes ``labels``.

    Returns
    -------
    Dataset
        X sparse CSR of shape (n_terms, n_documents), ``feature_names`` the vocabulary.
    """
    if vectorizer not in VECTORIZERS:
        raise ValueError(f"vectorizer={vectorizer!r} is not valid; choose one of {VECTORIZERS}")
    if stop_words not in ("english", None):
        raise ValueError(f"stop_words={stop_words!r} is not valid; use 'english' or None")
    # scikit-learn's text module takes about a second to import: only raw documents need it
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    cls = CountVectorizer if vectorizer == "count" else TfidfVectorizer
    try:
        model = cls(stop_words=stop_words, min_df=min_df, max_df=max_df, max_features=max_features)
        dtm = model.fit_transform(texts)
    except ValueError as exc:
        raise DataError(
            f"the documents of {origin} give no usable vocabulary ({exc}); lower min_df, raise "
            "max_df, turn stop words off, or check that the right text column was chosen"
        ) from None
    steps = [
        f"{cls.__name__}(stop_words={stop_words!r}, min_df={min_df!r}, max_df={max_df!r}, "
        f"max_features={max_features!r}) on {len(texts)} documents"
    ]
    options = dict(label_options or {})
    labels = next(iter(options.values())) if options else None
    dataset = from_dtm(dtm, documents_are="rows", terms=model.get_feature_names_out(),
                       documents=names, origin=origin, steps=steps, **checks)
    dataset.label_options = options
    dataset.labels = labels
    return dataset


def text_column(table: Table, name: str, column: str | None) -> int | None:
    """Index of the column holding raw documents: ``column`` if given, else the column of
    longest non-numeric cells with spaces in them; None when there is none."""
    header = table.header or [str(i) for i in range(len(table.rows[0]) if table.rows else 0)]
    if column is not None:
        if column not in header:
            raise DataError(f"text_column={column!r} is not a column of {name!r}; choose one of {header}")
        return header.index(column)
    best, best_length = None, 10.0
    for j in range(len(header)):
        cells = [r[j] for r in table.rows]
        wordy = [c for c in cells if " " in c.strip()]
        if cells and len(wordy) >= 0.5 * len(cells):
            length = float(np.mean([len(c) for c in cells]))
            if length > best_length:
                best, best_length = j, length
    return best


def from_table(table: Table, column: int, *, name: str, label_column: str | None = None,
               **options: Any) -> Dataset:
    """Vectorise the documents in one column of a table; short text columns become labels."""
    header = table.header or [f"column {j}" for j in range(len(table.rows[0]))]
    if not table.rows:
        raise DataError(f"{name!r} has a header but no documents; add one row per document")
    texts = [r[column] for r in table.rows]
    annotations = {}
    for j, title in enumerate(header):
        values = [r[j] for r in table.rows]
        if j != column and 1 < len(set(values)) <= max(2, len(values) // 2):
            annotations[title] = np.asarray(values, dtype=object)
    if label_column is not None:
        if label_column not in annotations:
            raise DataError(
                f"label_column={label_column!r} is not a usable label column of {name!r}; "
                f"choose one of {sorted(annotations) or 'none'}"
            )
        annotations = {label_column: annotations.pop(label_column), **annotations}
    names = [f"document {i}" for i in range(len(texts))]
    return vectorize(texts, names=names, origin=f"column {header[column]!r} of {name!r}",
                     label_options=annotations, **options)
