"""The Flask baseline of bench/run_api.py: seed 000's `POST /auth/custom`, ported to Python 3.

Seed 000 (a Flask authorization server for OSS) signs whatever the client posts in the form field
`content` with a long-lived key: HMAC-SHA1, base64, answered as `OSS <key id>:<signature>`; an
empty `content` gets 403. Python 3 differences only: the secret and content are encoded to bytes
and `base64.encodebytes` replaces Python 2's `encodestring`. Run it as seed 004 deploys Flask:

    gunicorn -w 4 -b 127.0.0.1:PORT flask_auth_custom:app

The key comes from the environment (seed 000 read it from access.conf); the defaults are
benchmark values, not secrets.
"""

import base64
import hashlib
import hmac
import os

from flask import Flask, request

app = Flask(__name__)

custom_key = os.environ.get("BENCH_CUSTOM_KEY", "LTAIbenchmarkkeyid")
custom_secret = os.environ.get("BENCH_CUSTOM_SECRET", "benchmark-secret-not-a-real-key")


@app.route('/auth/custom', methods=['POST'])
def auth_custom():
    content = request.form.get('content')
    if not content:
        return '403 Forbidden', 403

    return 'OSS {:s}:{:s}'.format(custom_key, _sign(custom_secret, content))


def _sign(secret, content):
    h = hmac.new(secret.encode(), content.encode(), hashlib.sha1)
    return base64.encodebytes(h.digest()).decode().strip()
