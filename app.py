"""NMF Explorer: a Streamlit app over the ``nmfcore`` engine.

Run with ``streamlit run app.py``.
"""

import streamlit as st

st.set_page_config(page_title="NMF Explorer", layout="wide")
st.title("NMF Explorer")
st.write("Nonnegative matrix factorisation for images, text, hyperspectral cubes and single cells.")
