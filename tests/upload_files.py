"""Kept for benchmarks/bench_uploads.py only (it imports tests.upload_files): the files are written by
tests/support/upload_files.py. Remove this file once the benchmarks import tests.support.upload_files."""
from tests.support.upload_files import *  # noqa: F403
