"""Drive one docker compose project from a test: the CLI that exists (the v2 plugin, else
docker-compose v1), one project name per run, every command and its duration logged."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: How long one compose command may take (a first build downloads TensorFlow).
COMMAND_TIMEOUT_S = 1800.0
HEALTH_POLL_S = 1.0


_capture_manager: Any = None


def show_logs_through_capture(config: Any) -> None:
    """Let ``log`` write past pytest's output capture: CI's log must show every phase."""
    global _capture_manager  # noqa: PLW0603 - one test session, one capture manager
    _capture_manager = config.pluginmanager.getplugin("capturemanager")


def log(message: str) -> None:
    """A progress line on the terminal, as it happens, captured run or not."""
    line = f"[docker-e2e] {message}"
    if _capture_manager is None:
        print(line, file=sys.stderr, flush=True)
        return
    with _capture_manager.global_and_fixture_disabled():
        print(line, file=sys.stderr, flush=True)


def compose_cli() -> list[str] | None:
    """`docker compose` (v2) when the plugin exists, else `docker-compose` (v1), else None."""
    if shutil.which("docker"):
        probe = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, text=True, check=False
        )
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


@dataclass
class ComposeProject:
    """One compose project (``-p name``) over the repository's docker-compose.yml."""

    cli: list[str]
    directory: Path
    name: str
    env: Mapping[str, str]
    timings: dict[str, float] = field(default_factory=dict)

    def run(
        self,
        *args: str,
        check: bool = True,
        timeout: float = COMMAND_TIMEOUT_S,
        quiet: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        command = [*self.cli, "-p", self.name, *args]
        if not quiet:
            log("$ " + " ".join(command[len(self.cli) :]))
        started = time.perf_counter()
        result = subprocess.run(
            command,
            cwd=self.directory,
            env=dict(self.env),
            stdin=subprocess.DEVNULL,  # `run` and `logs` must not wait on or attach a terminal
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if not quiet:
            log(f"  exit {result.returncode} after {time.perf_counter() - started:.1f} s")
        if check and result.returncode != 0:
            raise AssertionError(
                f"`{' '.join(command)}` failed ({result.returncode}):\n"
                f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            )
        return result

    def timed(self, label: str, *args: str) -> subprocess.CompletedProcess[str]:
        started = time.perf_counter()
        result = self.run(*args)
        self.timings[label] = time.perf_counter() - started
        return result

    def container_id(self, service: str) -> str:
        """The service's container (stopped ones included)."""
        out = self.run("ps", "-q", service, quiet=True).stdout.split()
        if not out:
            out = self.run("ps", "-a", "-q", service, quiet=True, check=False).stdout.split()
        assert out, f"no container for service {service!r}"
        return out[0]

    def inspect(self, service: str) -> dict:
        result = subprocess.run(
            ["docker", "inspect", self.container_id(service)],
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(result.stdout)[0]

    def health(self, service: str) -> str:
        state = self.inspect(service)["State"]
        return state.get("Health", {}).get("Status") or state["Status"]

    def wait_healthy(self, service: str, *, timeout: float) -> float:
        """Seconds until the engine's healthcheck reports healthy; raises on timeout."""
        started = time.perf_counter()
        status = "unknown"
        while time.perf_counter() - started < timeout:
            status = self.health(service)
            if status == "healthy":
                return time.perf_counter() - started
            if status in ("exited", "dead"):
                break
            time.sleep(HEALTH_POLL_S)
        raise AssertionError(
            f"{service} is {status!r} after {timeout:.0f} s:\n{self.logs(service)}"
        )

    def exit_code(self, service: str) -> int:
        return int(self.inspect(service)["State"]["ExitCode"])

    def ip_address(self, service: str) -> str:
        networks = self.inspect(service)["NetworkSettings"]["Networks"]
        return next(iter(networks.values()))["IPAddress"]

    def logs(self, *services: str, tail: int = 200) -> str:
        result = self.run(
            "logs", "--no-color", f"--tail={tail}", *services, check=False, quiet=True
        )
        return result.stdout + result.stderr

    def exec(self, service: str, command: Sequence[str]) -> str:
        return self.run("exec", "-T", service, *command).stdout
