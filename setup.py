from setuptools import setup

setup(cffi_modules=["emulator/_build.py:ffibuilder"])
