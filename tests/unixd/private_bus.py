"""A private D-Bus daemon of the test's own (``dbus-daemon`` on a socket in a temporary directory),
for the network-watch tests of unixd and of the namespaced integration tests.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""
# Bounds for waiting on the daemon and on a delivered signal; never slept, only waited on.
WAIT_SECONDS = 10


class PrivateBus:
    def __init__(self, directory: Path) -> None:
        config = directory / "bus.conf"
        config.write_text(BUS_CONFIG.format(socket=directory / "bus"))
        self.process = subprocess.Popen(
            ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address"],
            stdout=subprocess.PIPE, text=True,
        )
        assert self.process.stdout is not None
        # The daemon prints its address once it listens: that line is the readiness probe.
        self.address = self.process.stdout.readline().strip()
        assert self.address.startswith("unix:"), "dbus-daemon did not start"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=WAIT_SECONDS)
        assert self.process.stdout is not None
        self.process.stdout.close()

