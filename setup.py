"""The optional C loop of the batch path (lspolicy/evaluate/_cstream.c).

Everything else is in pyproject.toml. The extension is optional: where no C compiler (or no
Python headers) is, the build warns and installs the pure-Python package, which gives the same
answers (`lspolicy.evaluate.authorize._native` is then None).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "lspolicy.evaluate._cstream",
            ["lspolicy/evaluate/_cstream.c"],
            optional=True,
        )
    ]
)
