"""Audio inputs from URLs (a real local HTTP server), base64 and storage keys, with their limits."""

import base64

import pytest

from f5worker.errors import InvalidInput, NotFound, PayloadTooLarge
from f5worker.media.sources import read_audio_source
from f5worker.settings import Settings
from tests.helpers import QuietHandler, loopback_server

BODY = b"RIFF" + b"\x00" * 4000


class Routes(QuietHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        if self.path == "/audio.wav":
            self.reply(200, BODY)
        elif self.path.startswith("/hop/"):
            remaining = int(self.path.rsplit("/", 1)[1])
            self.reply(302, Location=f"/hop/{remaining - 1}" if remaining > 1 else "/audio.wav")
        elif self.path == "/big-chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for _ in range(64):
                self.wfile.write(b"%x\r\n%s\r\n" % (4096, b"x" * 4096))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.reply(404, b"no")


@pytest.fixture(scope="module")
def http_base():
    with loopback_server(Routes) as url:
        yield url


@pytest.fixture
def settings(tmp_path):
    return Settings(storage_dir=tmp_path, allow_private_urls=True, max_input_bytes=100_000, url_max_redirects=3)


def read(value, settings, storage=None):
    return read_audio_source(value, "audio", settings, storage)


def test_url_is_streamed(http_base, settings):
    assert read(f"{http_base}/audio.wav", settings) == BODY


def test_redirects_are_followed_up_to_the_limit(http_base, settings):
    assert read(f"{http_base}/hop/3", settings) == BODY
    with pytest.raises(InvalidInput, match="more than 3 redirects"):
        read(f"{http_base}/hop/4", settings)


def test_size_limit_is_enforced_while_streaming(http_base, settings):
    with pytest.raises(PayloadTooLarge, match="^audio: input is"):
        read(f"{http_base}/big-chunked", settings)


def test_http_errors_are_invalid_input(http_base, settings):
    with pytest.raises(InvalidInput, match="HTTP 404"):
        read(f"{http_base}/missing", settings)


def test_private_addresses_are_refused_by_default(http_base, tmp_path):
    with pytest.raises(InvalidInput, match="private or local address"):
        read(f"{http_base}/audio.wav", Settings(storage_dir=tmp_path))


@pytest.mark.parametrize("prefix", ["", "data:audio/wav;base64,"])
def test_base64_with_or_without_data_prefix(settings, prefix):
    assert read(prefix + base64.b64encode(BODY).decode(), settings) == BODY


def test_bad_base64_names_what_was_expected(settings):
    with pytest.raises(InvalidInput, match="^audio: expected an http"):
        read("this is not base64!!", settings)


def test_base64_over_the_limit_is_refused_before_decoding(settings):
    with pytest.raises(PayloadTooLarge):
        read("A" * 200_000, settings)


def test_storage_keys_under_voices_and_outputs(settings, local_ctx):
    local_ctx.storage.put_bytes("voices/narrator.wav", BODY)
    assert read("voices/narrator.wav", settings, local_ctx.storage) == BODY
    with pytest.raises(NotFound, match="voices/ghost.wav"):
        read("voices/ghost.wav", settings, local_ctx.storage)
    with pytest.raises(InvalidInput):
        read("voices/../results/x.json", settings, local_ctx.storage)
