"""URL inputs: one parse, one resolution, one pinned connection per hop, one deadline for the download.

Only servers on 127.0.0.1 that the tests start are contacted. Name resolution is controlled by
replacing ``url_fetch.resolve`` (the worker's only DNS look-up): it stands in for DNS, mapping test
names to addresses. Connections are watched with a ``socket.connect`` audit hook, so "refused" means
"no socket was ever connected", not just "an error came back".
"""

from __future__ import annotations

import base64
import contextlib
import sys
import threading
import time
import urllib.parse

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from f5worker.dispatch import handle_job
from f5worker.errors import InvalidInput, PayloadTooLarge
from f5worker.media import url_fetch
from f5worker.media.sources import fetch_url
from f5worker.settings import Settings
from tests.helpers import QuietHandler, espeak_wav, loopback_server

# --------------------------------------------------------------------------- watching connections

_connects: list[object] = []
_watching = threading.local()


def _audit(event: str, args: tuple) -> None:
    if event == "socket.connect" and getattr(_watching, "on", False):
        _connects.append(args[1])


sys.addaudithook(_audit)  # audit hooks cannot be removed; this one records only inside watch_connects()


@contextlib.contextmanager
def watch_connects():
    """The addresses this thread connected sockets to while inside the block."""
    _connects.clear()
    _watching.on = True
    try:
        yield _connects
    finally:
        _watching.on = False


# --------------------------------------------------------------------------- a loopback server

AUDIO = b"RIFF" + bytes(2000)


class Site(QuietHandler):
    hits: list[tuple[str, str]] = []

    def do_GET(self):  # noqa: N802 - http.server's naming
        Site.hits.append((self.path, self.headers.get("Host", "")))
        if self.path == "/a.wav":
            self.reply(200, AUDIO)
        elif self.path.startswith("/redirect?to="):
            self.reply(302, Location=urllib.parse.unquote(self.path.split("=", 1)[1]))
        elif self.path == "/drip":  # Content-Length 40, one byte every 0.25 s
            self.send_response(200)
            self.send_header("Content-Length", "40")
            self.end_headers()
            with contextlib.suppress(OSError):
                for _ in range(40):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.25)
        elif self.path == "/drip-headers":
            with contextlib.suppress(OSError):
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                for index in range(40):
                    self.wfile.write(b"X-Slow-%d: 1\r\n" % index)
                    self.wfile.flush()
                    time.sleep(0.25)
        elif self.path == "/short":  # declares 2000 bytes, sends 100, hangs up
            self.send_response(200)
            self.send_header("Content-Length", "2000")
            self.end_headers()
            self.wfile.write(AUDIO[:100])
            self.close_connection = True
        elif self.path == "/short-chunked":  # a chunked body cut inside its first chunk
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"7d0\r\n" + AUDIO[:100])
            self.close_connection = True
        else:
            self.reply(404, b"no")


@pytest.fixture(scope="module")
def site():
    """The loopback server's port."""
    with loopback_server(Site) as url:
        yield urllib.parse.urlsplit(url).port


@pytest.fixture
def dns(monkeypatch):
    """Stands in for DNS: test names resolve to what the test says; counts look-ups."""
    table: dict[str, list[str]] = {}
    lookups: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        lookups.append(host)
        if host in table:
            return table[host]
        raise OSError("unknown test name")

    monkeypatch.setattr(url_fetch, "resolve", resolve)
    return table, lookups


def fetch(url: str, allow_private: bool = False, timeout_s: float = 5.0, redirects: int = 3) -> bytes:
    return fetch_url(
        url,
        "audio",
        Settings(
            allow_private_urls=allow_private,
            url_timeout_s=timeout_s,
            url_max_redirects=redirects,
            max_input_bytes=100_000,
        ),
    )


# --------------------------------------------------------------------------- parser differentials


@pytest.mark.parametrize(
    "template",
    [
        "http://127.0.0.1:{port}\\@8.8.8.8/a.wav",  # the probe's example: urllib.parse and urllib3 disagree
        "http://8.8.8.8\\@127.0.0.1:{port}/a.wav",
        "http://user@127.0.0.1:{port}/a.wav",
        "http://8.8.8.8:80@127.0.0.1:{port}/a.wav",
        "http://127.0.0.1:{port}#@8.8.8.8/a.wav",
        "http://127.0.0.1:{port}/a.wav\t",
        "http://127.0.0.1:{port}/a .wav",
        "http://127.0.0.1:{port}/a.wav\r\nX-Injected: 1",
        "http://%31%32%37.0.0.1:{port}/a.wav",
        "http://a..b/x.wav",
        "http://" + "a" * 64 + ".example/x.wav",
        "http://.example/x.wav",
        "http://exa mple/x.wav",
        "http://[::1:{port}/a.wav",
        "http://127.0.0.1:99999/a.wav",
        "ftp://127.0.0.1:{port}/a.wav",
    ],
)
def test_ambiguous_or_local_urls_are_refused_without_a_connection(site, template):
    url = template.format(port=site)
    before = len(Site.hits)
    with watch_connects() as connects, pytest.raises(InvalidInput) as refused:
        fetch(url)
    assert connects == [] and len(Site.hits) == before
    assert refused.value.message.startswith("audio: ")


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.1",
        "2130706433",
        "0x7f.1",
        "0177.0.0.1",
        "0.0.0.0",
        "localhost",
        "[::1]",
        "[::7f00:1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "[0:0:0:0:0:0:0:1]",
        "[64:ff9b::7f00:1]",
        "[2002:7f00:1::]",
        "[fe80::1]",
        "169.254.169.254",
        "10.1.2.3",
        "100.64.0.1",
        "[fc00::1]",
        "224.0.0.1",
        # IPv4 inside IPv6, judged by the IPv4 address (issue 21): translated, SIIT inside ::/8,
        # RFC 6052 NAT64 (well-known /96 and local-use /48 at every prefix length), 6to4, Teredo
        "[::ffff:0:127.0.0.1]",
        "[::ffff:0:a9fe:a9fe]",
        "[::ffff:0:0:10.0.0.1]",
        "[::1:0:127.0.0.1]",
        "[0:0:1::7f00:1]",
        "[64:ff9b::10.1.2.3]",
        "[64:ff9b:1::7f00:1]",
        "[64:ff9b:1:7f00:1::]",
        "[64:ff9b:1:a9fe:a9:fe00::]",
        "[64:ff9b:1:7f:0:1::]",
        "[2002:a9fe:a9fe::1]",
        "[2001:0:4136:e378:8000:63bf:80ff:fffe]",
    ],
)
def test_every_spelling_of_a_local_address_is_refused(site, host):
    with watch_connects() as connects, pytest.raises(InvalidInput) as refused:
        fetch(f"http://{host}:{site}/a.wav")
    assert connects == []
    assert "private or local address" in refused.value.message or "cannot resolve" in refused.value.message


@pytest.mark.parametrize(
    ("address", "inner"),
    [
        ("::ffff:0:8.8.8.8", ["8.8.8.8"]),
        ("::ffff:0:0:7f00:1", ["127.0.0.1"]),
        ("64:ff9b::a9fe:a9fe", ["169.254.169.254"]),
        ("64:ff9b:1:7f00:0:100::", ["127.0.0.1", "0.0.1.0", "0.1.0.0", "0.0.0.0"]),  # /48, /56, /64, /96
        ("2002:808:808::", ["8.8.8.8"]),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", ["65.54.227.120", "192.0.2.45"]),  # server, client
        ("2606:4700::1111", []),
    ],
)
def test_embedded_ipv4_reads_every_ipv6_form(address, inner):
    import ipaddress

    assert [str(ip) for ip in url_fetch.embedded_ipv4(ipaddress.IPv6Address(address))] == inner


@pytest.mark.parametrize("address", ["::ffff:0:8.8.8.8", "64:ff9b::8.8.8.8", "2002:808:808::1", "2606:4700::1111"])
def test_an_embedded_public_ipv4_is_public(address):
    assert url_fetch.is_public_address(address)


def test_a_name_resolving_to_an_embedded_local_ipv4_is_refused(site, dns):
    table, _ = dns
    for index, address in enumerate(["::ffff:0:127.0.0.1", "64:ff9b:1:a9fe:a9:fe00::", "::ffff:0:0:a00:1"]):
        table[f"n{index}.test"] = ["8.8.8.8", address]
        with watch_connects() as connects, pytest.raises(InvalidInput, match="private or local"):
            fetch(f"http://n{index}.test:{site}/a.wav")
        assert connects == []


@pytest.mark.parametrize("path", ["/short", "/short-chunked"])
def test_a_body_cut_short_is_a_download_error_not_the_whole_file(site, path):
    with pytest.raises(InvalidInput, match=r"^audio: download failed"):
        fetch(f"http://127.0.0.1:{site}{path}", allow_private=True)


def test_the_error_is_the_same_whether_something_listens_or_not(site):
    from tests.helpers import free_port

    errors = []
    for port in (site, free_port()):
        with pytest.raises(InvalidInput) as refused:
            fetch(f"http://127.0.0.1:{port}/a.wav")
        errors.append(refused.value.message)
    assert errors[0] == errors[1]


def test_a_name_resolving_to_any_local_address_is_refused(site, dns):
    table, _ = dns
    table["rebind.test"] = ["93.184.216.34", "127.0.0.1"]  # one public, one loopback: refused as a whole
    table["local.test"] = ["::ffff:10.0.0.5"]
    for name in table:
        with watch_connects() as connects, pytest.raises(InvalidInput, match="private or local"):
            fetch(f"http://{name}:{site}/a.wav")
        assert connects == []


def test_the_connection_goes_to_the_resolved_address_with_the_name_as_host(site, dns):
    table, lookups = dns
    table["audio.test"] = ["127.0.0.1"]
    with watch_connects() as connects:
        assert fetch(f"http://audio.test:{site}/a.wav", allow_private=True) == AUDIO
    assert connects == [("127.0.0.1", site)]  # pinned: connected to what was checked
    assert lookups == ["audio.test"]  # resolved once
    assert Site.hits[-1] == ("/a.wav", f"audio.test:{site}")


def test_every_redirect_hop_is_checked_and_pinned(site, dns, monkeypatch):
    """127.0.0.1 plays a public server here; the redirect's local target must never be connected to."""
    real = url_fetch.is_public_address
    monkeypatch.setattr(url_fetch, "is_public_address", lambda address: address == "127.0.0.1" or real(address))
    table, _ = dns
    table["public.test"] = ["127.0.0.1"]
    table["inside.test"] = ["127.0.0.2"]
    for target in (
        f"http://[::ffff:127.0.0.2]:{site}/a.wav",
        f"http://inside.test:{site}/a.wav",
        f"http://127.0.0.1:{site}\\@8.8.8.8/a.wav",
        "file:///etc/passwd",
    ):
        with watch_connects() as connects, pytest.raises(InvalidInput):
            fetch(f"http://public.test:{site}/redirect?to={urllib.parse.quote(target)}")
        assert connects == [("127.0.0.1", site)]
    assert fetch(f"http://public.test:{site}/redirect?to=/a.wav") == AUDIO


@pytest.mark.parametrize("path", ["/drip", "/drip-headers"])
def test_the_deadline_holds_however_the_server_drips(site, path):
    started = time.monotonic()
    with pytest.raises(InvalidInput, match="URL_TIMEOUT_S"):
        fetch(f"http://127.0.0.1:{site}{path}", allow_private=True, timeout_s=1.0)
    assert time.monotonic() - started < 2.0


def test_size_limit_still_holds(site):
    with pytest.raises(PayloadTooLarge):
        fetch_url(f"http://127.0.0.1:{site}/a.wav", "audio", Settings(allow_private_urls=True, max_input_bytes=1024))


@pytest.mark.parametrize("host", ["a..b", "x" * 64 + ".test", "xn--ls8h-.test", "💩" * 40 + ".test", "a.-b.test"])
def test_host_names_that_fail_idna_are_invalid_input(host):
    with watch_connects() as connects, pytest.raises(InvalidInput, match="^audio: URL"):
        fetch(f"http://{host}/x.wav")
    assert connects == []


# --------------------------------------------------------------------------- hypothesis: differential shapes

_LOCAL_HOSTS = [
    "127.0.0.1",
    "127.1",
    "2130706433",
    "0x7f000001",
    "[::1]",
    "[::7f00:1]",
    "[::ffff:127.0.0.1]",
    "[0:0:0:0:0:0:0:1]",
    "[::ffff:7f00:1]",
    "localhost",
    "10.0.0.1",
    "169.254.169.254",
    "audio.test",
    "[fe80::1%25lo]",
    "0",
]
_DECOYS = ["8.8.8.8", "example.com", "[2001:4860:4860::8888]", "93.184.216.34"]
_JOINERS = ["\\@", "@", "#@", "\\", "%40", "%2F@", ":80@", "\t@", "\x00@", " @", "?@", "/@", "\\\\", "%00", "\n", ";@"]


@st.composite
def differential_urls(draw) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "hTtPs"]))
    local = draw(st.sampled_from(_LOCAL_HOSTS))
    port = draw(st.sampled_from(["", ":80", ":8321", ":0", ":65536", ":-1", ": 80"]))
    shape = draw(st.integers(0, 3))
    joiner = draw(st.sampled_from(_JOINERS))
    decoy = draw(st.sampled_from(_DECOYS))
    path = draw(st.sampled_from(["/a.wav", "", "/%2e%2e/a", "/a#frag", "?x=@y"]))
    noise = draw(st.text(alphabet="\\@#%/:?[]\t\r\n \x00\x7f.", max_size=3))
    if shape == 0:
        authority = f"{local}{port}{joiner}{decoy}"
    elif shape == 1:
        authority = f"{decoy}{joiner}{local}{port}"
    elif shape == 2:
        authority = f"{local}{noise}{port}"
    else:
        authority = f"{noise}{local}{port}"
    return f"{scheme}://{authority}{path}"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(url=differential_urls())
@example(url="http://127.0.0.1:8321\\@8.8.8.8/a.wav")
def test_a_refused_url_never_opens_a_socket(url, monkeypatch):
    """Every name resolves to a loopback address here (the stand-in DNS), so every URL must be refused
    (``InvalidInput``) before any socket connects, whichever way its parts are glued together."""
    monkeypatch.setattr(url_fetch, "resolve", lambda host, port: ["127.0.0.1"])
    with watch_connects() as connects:
        try:
            fetch(url, timeout_s=1.0)
        except InvalidInput:
            pass
        else:
            raise AssertionError(f"{url!r} was fetched")
    assert connects == [], url


# --------------------------------------------------------------------------- through the worker


def test_refused_url_jobs_are_followed_by_a_good_job(site, local_ctx, tmp_path, whisper_engines):
    local_ctx.engines = whisper_engines  # stt passes its engine check and reaches the URL
    speech = base64.b64encode(
        espeak_wav("A voice for the good job after each bad one.", tmp_path / "v.wav").read_bytes()
    ).decode()
    bad_urls = [
        f"http://127.0.0.1:{site}\\@8.8.8.8/a.wav",
        f"http://[::7f00:1]:{site}/a.wav",
        f"http://[::ffff:127.0.0.1]:{site}/a.wav",
        f"http://[0:0:0:0:0:0:0:1]:{site}/a.wav",
        "http://a..b/x.wav",
        "http://" + "a" * 64 + ".test/x.wav",
    ]
    for index, url in enumerate(bad_urls):
        before = len(Site.hits)
        for job_input in (
            {"endpoint": "voices", "action": "upload", "name": f"v{index}", "audio": url},
            {"endpoint": "stt", "audio": url},
        ):
            output = handle_job({"id": "bad", "input": job_input}, local_ctx)
            assert output["error"].startswith("invalid_input: audio: "), output
        assert len(Site.hits) == before
        good = handle_job(
            {
                "id": "good",
                "input": {"endpoint": "voices", "action": "upload", "name": f"good{index}", "audio": speech},
            },
            local_ctx,
        )
        assert good["audio_key"] == f"voices/good{index}.wav", good
    assert [key for key in local_ctx.storage.list_keys("voices/") if not key.startswith("voices/good")] == []
