"""The version of nmfcore, readable by its modules without importing the package root."""

__version__ = "0.1.0"
