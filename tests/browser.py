"""Kept for benchmarks/bench_uploads.py only (it imports tests.browser): the browser harness is
tests/support/browser.py. Remove this file once the benchmarks import tests.support.browser."""
from tests.support.browser import *  # noqa: F403
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, free_port  # noqa: F401
