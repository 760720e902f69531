"""hermit-unixd losing idmd on the network, inside a network namespace made by the test.

hermit-idmd and hermit-unixd run in a private network namespace (``own_network_namespace``);
nftables rules in it make idmd's port silently drop packets (requests time out, as on a dead
link) or refuse connections, and are removed again. What is checked:

- a password step whose request to idmd times out is answered from the cached hash in the
  same PAM conversation (DESIGN.md "Offline means offline at once"); a wrong password fails;
  ``hermit-unix status`` says offline; once the rule is gone, ``cache-invalidate`` brings it
  back online;
- offline inside its back-off, unixd returns online at once when NetworkManager reports
  "connected" or logind a resume on the D-Bus system bus (a private ``dbus-daemon`` named by
  ``DBUS_SYSTEM_BUS_ADDRESS``), and keeps its back-off when there is no bus.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from jeepney import message_bus, new_signal
from jeepney.io.blocking import open_dbus_connection
from jeepney.wrappers import unwrap_msg

from tests.integration.directory import directory, new_password, unique
from tests.integration.idmd_server import IdmdServer, own_idmd, scratch_dir
from tests.integration.unixd_harness import Firewall, Unixd, own_network_namespace, run_unixd
from tests.unixd.private_bus import PrivateBus
from unixd.resolver.netwatch import LOGIND_MANAGER, LOGIND_NAME, NM_NAME, NM_STATE

# unixd's first back-off is 15 s and the second 30 s (unixd/resolver/state.py); a wake-up
# must show well inside the second one, which these tests start before waiting.
WAKE_BOUND_SECONDS = 10.0


@dataclass
class Site:
    server: IdmdServer
    firewall: Firewall
    name: str
    password: str


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    """One idmd in a namespace of this module's own, with a person who has a password."""
    with own_network_namespace(), scratch_dir("hermit-idmd-") as workdir, \
            own_idmd(Path(workdir)) as server, directory(server, clean_up=False) as made:
        name, password = unique("n"), new_password()
        made.person(name, password=password)
        firewall = Firewall(int(server.url.rsplit(":", 1)[1]))
        try:
            yield Site(server, firewall, name, password)
        finally:
            firewall.clear()


def wait_until(condition: Callable[[], bool], bound: float) -> bool:
    """Poll ``condition`` until it holds or ``bound`` seconds pass; whether it held."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if condition():
            return True
    return condition()


def test_unixd_netns__a_timeout_mid_login_answers_from_the_cached_hash(site: Site) -> None:
    with run_unixd(site.server) as unixd:
        online_user = unixd.call("user_by_name", name=site.name)
        assert unixd.login(site.name, site.password) == {"kind": "success"}
        assert unixd.server_state() == "online"

        site.firewall.drop()
        try:
            # idmd is asked (the password step), never answers; the same conversation
            # is answered from the hash kept at the online login.
            assert unixd.login(site.name, site.password) == {"kind": "success"}
            assert unixd.server_state() == "offline"
            assert unixd.login(site.name, "wrong password")["kind"] == "denied"
            assert unixd.call("user_by_name", name=site.name) == online_user
        finally:
            site.firewall.clear()
        assert unixd.tool("cache-invalidate").returncode == 0
        assert unixd.server_state() == "online"
        assert unixd.login(site.name, site.password) == {"kind": "success"}
    # It was a timeout that took it offline, not a refused connection.
    assert "going offline: POST /v1/unix/auth: idmd did not answer in time" in unixd.stderr


def go_offline_into_second_backoff(unixd: Unixd, firewall: Firewall) -> None:
    """Offline with a back-off of 30 s; idmd reachable again, which unixd does not know."""
    firewall.refuse()
    for _ in range(2):
        # Each invalidation ends the back-off; the probe of ``status`` then fails again.
        assert unixd.tool("cache-invalidate").returncode == 0
        assert unixd.server_state() == "offline"
    firewall.clear()
    assert unixd.server_state() == "offline"  # inside the back-off: idmd is not asked


@pytest.fixture
def bus(tmp_path: Path) -> Iterator[PrivateBus]:
    if shutil.which("dbus-daemon") is None:
        pytest.skip("dbus-daemon is not installed (Debian package dbus-daemon)")
    private = PrivateBus(tmp_path)
    try:
        yield private
    finally:
        private.stop()


@pytest.mark.parametrize(
    ("owner", "signal"),
    [
        (NM_NAME, new_signal(NM_STATE, "StateChanged", "u", (70,))),  # CONNECTED_GLOBAL
        (LOGIND_NAME, new_signal(LOGIND_MANAGER, "PrepareForSleep", "b", (False,))),  # resumed
    ],
    ids=["networkmanager-connected", "logind-resumed"],
)
def test_unixd_netns__a_dbus_wake_signal_ends_the_backoff(
    site: Site, bus: PrivateBus, owner: str, signal: object
) -> None:
    with run_unixd(site.server, env={"DBUS_SYSTEM_BUS_ADDRESS": bus.address}) as unixd, \
            open_dbus_connection(bus.address) as emitter:
        unwrap_msg(emitter.send_and_get_reply(message_bus.RequestName(owner)))
        assert unixd.server_state() == "online"
        go_offline_into_second_backoff(unixd, site.firewall)
        emitter.send(signal)
        assert wait_until(lambda: unixd.server_state() == "online", WAKE_BOUND_SECONDS)
    assert "network changed" in unixd.stderr
    assert "D-Bus" not in unixd.stderr


def test_unixd_netns__without_a_bus_the_backoff_stands(site: Site, tmp_path: Path) -> None:
    no_bus = {"DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={tmp_path}/no-bus"}
    with run_unixd(site.server, env=no_bus) as unixd:
        assert unixd.server_state() == "online"
        go_offline_into_second_backoff(unixd, site.firewall)
        assert unixd.server_state() == "offline"
        # The documented way back without a bus (besides the back-off running out).
        assert unixd.tool("cache-invalidate").returncode == 0
        assert unixd.server_state() == "online"
    assert "the D-Bus system bus cannot be used" in unixd.stderr
