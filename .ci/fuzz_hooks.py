"""Schemathesis hooks for CI: requests made the way a real client makes them, where the fuzzer cannot know how.

A client sends a fresh Idempotency-Key for each new request; the generator repeats short values ("0", "a")
across requests, and a key repeated with another request is refused with 422 by contract (tests/api.rs
covers that). In a request meant to be valid, a well-formed key is therefore replaced by a unique one.
Requests meant to be invalid are sent as generated (replacing anything there would make schemathesis
re-classify them), so a malformed key still meets its 400.
"""
import re
import uuid

import schemathesis

_WELL_FORMED_KEY = re.compile(r"^[!-~]([ -~]*[!-~])?$")


def _fresh_keys(headers):
    for name in list(headers or {}):
        if name.lower() == "idempotency-key":
            value = headers[name]
            if isinstance(value, str) and 0 < len(value) <= 255 and _WELL_FORMED_KEY.match(value):
                headers[name] = str(uuid.uuid4())


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    meta = case.meta
    if meta is not None and meta.generation.mode.is_negative:
        return
    _fresh_keys(case.headers)
