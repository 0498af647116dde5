"""The request budget's pure parts: the per-host token bucket books moments 1/rate apart after its burst, per host,
whoever asks; the local limiter never lets more than `concurrency` requests in flight."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imagery.errors import ImageryError
from imagery.limits import LocalLimiter, TokenBucket


def test_the_bucket_lets_a_burst_go_then_spaces_requests_by_the_rate():
    bucket = TokenBucket(rate=10.0, burst=3)
    waits = [bucket.reserve("a", 100.0) for _ in range(6)]
    assert waits == pytest.approx([0.0, 0.0, 0.0, 0.1, 0.2, 0.3])
    assert bucket.reserve("b", 100.0) == 0.0  # another host has a bucket of its own
    assert bucket.reserve("a", 101.0) == 0.0  # a second later the bucket has refilled
    with pytest.raises(ImageryError, match="rate per host"):
        TokenBucket(rate=0)


@given(rate=st.floats(0.5, 100), burst=st.integers(1, 5),
       asks=st.lists(st.floats(0, 10, allow_nan=False), min_size=1, max_size=60))
def test_no_window_holds_more_than_burst_plus_rate_times_its_length(rate, burst, asks):
    bucket = TokenBucket(rate, burst)
    sent = sorted(now + bucket.reserve("h", now) for now in sorted(asks))
    for i, start in enumerate(sent):
        for j in range(i, len(sent)):
            span = sent[j] - start
            assert j - i + 1 <= burst + rate * span + 1e-6


def test_the_local_limiter_keeps_to_its_concurrency():
    limiter = LocalLimiter(concurrency=2)
    lock = threading.Lock()
    now = [0, 0]  # in flight, most in flight

    def request() -> None:
        with limiter.slot("h"):
            with lock:
                now[0] += 1
                now[1] = max(now[1], now[0])
            time.sleep(0.01)
            with lock:
                now[0] -= 1

    threads = [threading.Thread(target=request) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert now[1] == 2
