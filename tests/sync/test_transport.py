"""The transport against real HTTP peers on loopback that are not a healthy fieldkit server,
and the base-URL rules. (Behaviour against the real fieldkit server: test_engine_*.)"""

from __future__ import annotations

import socket

import httpx
import pytest
from sync_oddpeers import (
    captive_portal,
    garbage_json,
    odd_peer,
    other_json_api,
    redirecting_portal,
    server_error,
    slow,
    url_of,
)

from fieldkit import i18n
from fieldkit.errors import ExitCode
from fieldkit.sync.errors import (
    InsecureServerUrl,
    InvalidServerUrl,
    NotAFieldkitServer,
    ServerTrouble,
    ServerUnreachable,
)
from fieldkit.sync.transport import DeviceCredential, Transport, validate_server_url


class TestServerUrl:
    def test_https_is_accepted_and_normalised(self) -> None:
        assert validate_server_url("https://Fieldkit.Example.se/") == "https://fieldkit.example.se"
        assert validate_server_url(" https://x.se:8443/fk/ ") == "https://x.se:8443/fk"

    def test_plain_http_to_a_remote_host_is_refused_even_when_loopback_http_is_allowed(
        self,
    ) -> None:
        with pytest.raises(InsecureServerUrl) as caught:
            validate_server_url("http://fieldkit.example.se", allow_http_loopback=True)
        assert "https" in i18n.render(caught.value, "en")
        assert caught.value.exit_code == ExitCode.USAGE

    def test_http_on_loopback_needs_the_explicit_permission(self) -> None:
        with pytest.raises(InsecureServerUrl) as caught:
            validate_server_url("http://127.0.0.1:8000")
        assert "--allow-http-loopback" in i18n.render(caught.value, "en")
        assert validate_server_url("http://127.0.0.1:8000", allow_http_loopback=True) == (
            "http://127.0.0.1:8000"
        )
        assert validate_server_url("http://localhost:1", allow_http_loopback=True)
        assert validate_server_url("http://[::1]:8000/", allow_http_loopback=True) == (
            "http://[::1]:8000"
        )

    @pytest.mark.parametrize(
        "bad",
        [
            "",
            "fieldkit.example.se",
            "ftp://x.se",
            "https://",
            "https://u:p@x.se",
            "https://x.se/?a=1",
            "https://x.se:99999",
        ],
    )
    def test_malformed_addresses_get_a_clear_error(self, bad: str) -> None:
        with pytest.raises(InvalidServerUrl) as caught:
            validate_server_url(bad)
        assert "address" in i18n.render(caught.value, "en")


class TestNotAFieldkitServer:
    @pytest.mark.parametrize("answer", [captive_portal, redirecting_portal, other_json_api])
    def test_a_portal_or_another_service_is_named_as_such(self, answer: object) -> None:
        with odd_peer(answer) as peer:  # type: ignore[arg-type]
            transport = Transport(url_of(peer), allow_http_loopback=True)
            with pytest.raises(NotAFieldkitServer) as caught:
                transport.health()
        message = i18n.render(caught.value, "en")
        assert "did not answer as a fieldkit server" in message
        assert "Wi-Fi" in message
        assert caught.value.exit_code == ExitCode.NETWORK
        swedish = i18n.render(caught.value, "sv")
        assert "fieldkit-server" in swedish and "wifi" in swedish.lower()

    def test_a_portal_in_the_middle_of_a_sync_call_is_named_too(self) -> None:
        credential = DeviceCredential("device-1", "secret")
        with odd_peer(captive_portal) as peer:
            transport = Transport(url_of(peer), credential=credential, allow_http_loopback=True)
            with pytest.raises(NotAFieldkitServer):
                transport.pull("")
            assert peer.requests == ["POST /v1/auth/token"]


class TestRetryableTrouble:
    def test_5xx_is_retryable_and_keeps_retry_after(self) -> None:
        with odd_peer(server_error) as peer:
            transport = Transport(url_of(peer), allow_http_loopback=True)
            with pytest.raises(ServerTrouble) as caught:
                transport.health()
        assert caught.value.retryable
        assert caught.value.retry_after == 7.0
        assert "503" in i18n.render(caught.value, "en")

    def test_garbled_json_is_retryable(self) -> None:
        with odd_peer(garbage_json) as peer:
            transport = Transport(url_of(peer), allow_http_loopback=True)
            with pytest.raises(NotAFieldkitServer) as caught:
                transport.health()
        assert caught.value.retryable

    def test_nothing_listening_is_unreachable_and_retryable(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        transport = Transport(f"http://127.0.0.1:{port}", allow_http_loopback=True)
        with pytest.raises(ServerUnreachable) as caught:
            transport.health()
        assert caught.value.retryable
        assert str(port) in i18n.render(caught.value, "en")

    def test_a_silent_server_times_out_as_unreachable(self) -> None:
        with odd_peer(slow(2.0)) as peer:
            transport = Transport(
                url_of(peer), allow_http_loopback=True, timeout=httpx.Timeout(0.3)
            )
            with pytest.raises(ServerUnreachable) as caught:
                transport.health()
        assert "Timeout" in i18n.render(caught.value, "en")
