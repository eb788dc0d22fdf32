"""Optional C speedup for the SRL reward (training/_seqmatch.c); without a compiler it is skipped."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("swesrl.training._seqmatch", ["training/_seqmatch.c"], optional=True)])
