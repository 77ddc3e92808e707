"""Text: document-term matrices (CSV/TSV, MatrixMarket + vocabulary, SciPy .npz, .mat) and raw
documents (ZIP of .txt, CSV with a text column) become sparse terms x documents."""

from __future__ import annotations

import io

import numpy as np
import scipy.io
import scipy.sparse as sp

import nmfcore
from _bad_files import zip_bytes

DTM = np.array([[2, 0, 1], [0, 3, 0], [1, 1, 4], [0, 0, 2]])  # 4 documents x 3 terms
TERMS = ["apple", "banana", "cherry"]


def _csv(sep=","):
    lines = [sep.join(["doc", *TERMS])] + [sep.join([f"d{i}", *map(str, row)]) for i, row in enumerate(DTM)]
    return ("\n".join(lines) + "\n").encode()


def test_csv_document_term_matrix_becomes_terms_by_documents():
    ds = nmfcore.load(_csv(), name="dtm.csv")
    assert ds.kind == "text" and sp.issparse(ds.X) and ds.shape == (3, 4)
    np.testing.assert_array_equal(ds.X.toarray(), DTM.T)
    assert list(ds.feature_names) == TERMS and list(ds.item_names) == ["d0", "d1", "d2", "d3"]
    assert "header of terms" in ds.meta["detected"]


def test_tsv_is_read_with_tabs():
    ds = nmfcore.load(_csv("\t"), name="dtm.tsv")
    np.testing.assert_array_equal(ds.X.toarray(), DTM.T)


def test_matrix_market_with_vocabulary_in_a_zip():
    buffer = io.BytesIO()
    scipy.io.mmwrite(buffer, sp.coo_matrix(DTM))
    archive = zip_bytes({"counts.mtx": buffer.getvalue(), "vocab.txt": "\n".join(TERMS).encode()})
    ds = nmfcore.load(archive, name="corpus.zip")
    assert ds.kind == "text" and list(ds.feature_names) == TERMS
    np.testing.assert_array_equal(ds.X.toarray(), DTM.T)


def test_matrix_market_terms_by_documents_orientation_follows_vocabulary(tmp_path):
    path = tmp_path / "m.mtx"
    scipy.io.mmwrite(path, sp.coo_matrix(DTM.T))
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(TERMS))
    ds = nmfcore.load(path, kind="text", vocabulary=str(vocab))
    np.testing.assert_array_equal(ds.X.toarray(), DTM.T)


def test_scipy_sparse_npz_is_text():
    buffer = io.BytesIO()
    sp.save_npz(buffer, sp.csr_matrix(DTM))
    ds = nmfcore.load(buffer.getvalue(), name="dtm.npz")
    assert ds.kind == "text" and ds.shape == (3, 4)
    np.testing.assert_array_equal(ds.X.toarray(), DTM.T)


def test_classic4_mat_keeps_sparsity_and_classes(shared_dataset):
    ds = nmfcore.load(shared_dataset("classic.mat"))
    assert ds.kind == "text" and sp.issparse(ds.X)
    assert ds.shape == (41681, 7094) and ds.X.nnz == 223_839
    assert sorted(np.unique(ds.labels, return_counts=True)[1]) == [1033, 1398, 1460, 3203]


def test_zip_of_txt_files_is_vectorised_with_stop_words_and_folder_labels():
    docs = {
        "sport/a.txt": b"The match was won by the home team in the final minute",
        "sport/b.txt": b"The team trained for the match all week",
        "food/c.txt": b"Bake the bread and the cake in a hot oven",
        "food/d.txt": b"The bread recipe needs flour, water and an oven",
    }
    ds = nmfcore.load(zip_bytes(docs), name="news.zip")
    assert ds.kind == "text" and ds.shape[1] == 4
    terms = list(ds.feature_names)
    assert "the" not in terms and "match" in terms and "oven" in terms
    assert sorted(ds.labels) == ["food", "food", "sport", "sport"]
    match = terms.index("match")
    assert list(ds.item_names) == ["food/c.txt", "food/d.txt", "sport/a.txt", "sport/b.txt"]
    assert ds.X[match].toarray().ravel().tolist() == [0, 0, 1, 1]
    tfidf = nmfcore.load(zip_bytes(docs), name="news.zip", vectorizer="tfidf", stop_words=None, min_df=2)
    assert "the" in tfidf.feature_names and "cake" not in tfidf.feature_names
    assert not np.allclose(tfidf.X.data, np.round(tfidf.X.data))


def test_csv_with_text_column_and_label_column():
    rows = ["id,topic,body"]
    texts = ["stocks fell sharply as markets reacted to rates", "the striker scored twice in the cup final",
             "markets rallied while bond yields eased", "the keeper saved a penalty in extra time"]
    for i, (topic, body) in enumerate(zip(["money", "sport", "money", "sport"], texts)):
        rows.append(f'{i},{topic},"{body}"')
    ds = nmfcore.load("\n".join(rows).encode(), name="articles.csv", max_features=5)
    assert ds.kind == "text" and ds.shape == (5, 4)
    assert list(ds.labels) == ["money", "sport", "money", "sport"]
    assert "column 'body' holds sentences" in ds.meta["detected"]
    assert "CountVectorizer" in ds.meta["steps"][0] and "max_features=5" in ds.meta["steps"][0]
