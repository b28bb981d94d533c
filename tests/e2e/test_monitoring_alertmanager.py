"""A real Alertmanager with the project's alertmanager.yml: routing, grouping and inhibition.

The config is copied into a temp dir with two changes only: the receivers' secret files and
URLs point at HTTP servers this test runs (pager, chat), and the group timers are seconds
instead of minutes so notifications arrive within the test.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fakes.local_server import LocalServer
from tests.monitoring_helpers import ALERTMANAGER_CONFIG, JOB, generated_alert_rules, http_json
from tests.processes import free_port, http_status, stop_group, wait_until
from tests.services import require_service

pytestmark = pytest.mark.e2e

ALERTMANAGER_BIN = "prometheus-alertmanager"  # the Debian package's name for the binary
ROUTING_KEY = "routing-key-from-a-file"
WEBHOOK_TOKEN = "webhook-token-from-a-file"
RULES = {rule["alert"]: rule for rule in generated_alert_rules()}


@dataclass
class Receiver:
    """A small HTTP server that keeps every notification posted to it."""

    server: LocalServer
    received: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def wait_for(self, count: int) -> list[dict[str, Any]]:
        wait_until(lambda: len(self.received) >= count, 20, f"{count} notification(s)")
        return self.received

    def sole(self, path: str) -> dict[str, Any]:
        """The one notification posted here, checked to have been posted to `path`."""
        (notification,) = self.wait_for(1)
        assert notification["path"] == path
        return notification


def _start_receiver() -> Receiver:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append({"path": self.path, "headers": dict(self.headers), "body": body})
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Receiver(LocalServer(Handler).start(), received)


@dataclass
class Alertmanager:
    url: str
    pager: Receiver
    chat: Receiver

    def post(self, *alerts: dict[str, Any]) -> None:
        status, body = http_json(f"{self.url}/api/v2/alerts", list(alerts))
        assert status == 200, body

    def alerts(self) -> list[dict[str, Any]]:
        status, body = http_json(f"{self.url}/api/v2/alerts")
        assert status == 200
        return list(body)


def alert(name: str, job: str = JOB, **labels: str) -> dict[str, Any]:
    """An alert as Prometheus sends it for the rule NAME (annotations unrendered)."""
    rule = RULES[name]
    return {
        "labels": {"alertname": name, "job": job, **rule["labels"], **labels},
        "annotations": rule["annotations"],
    }


def _config(workdir: Path, pager: Receiver, chat: Receiver, critical_receiver: str) -> Path:
    """The project's config with its secret files written here and receivers pointed at ours."""
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    for route in [config["route"], *config["route"]["routes"]]:
        route.update(group_wait="1s", group_interval="1s")
        if route.get("receiver") == "oncall-pager":
            route["receiver"] = critical_receiver
    secrets = {
        "pagerduty-routing-key": ROUTING_KEY,
        "oncall-webhook-token": WEBHOOK_TOKEN,
        "chat-webhook-url": f"{chat.url}/chat",
    }
    for name, value in secrets.items():
        (workdir / name).write_text(value)
    receivers = {receiver["name"]: receiver for receiver in config["receivers"]}
    pagerduty = receivers["oncall-pager"]["pagerduty_configs"][0]
    pagerduty.update(
        url=f"{pager.url}/pagerduty", routing_key_file=str(workdir / "pagerduty-routing-key")
    )
    webhook = receivers["oncall-pager-webhook"]["webhook_configs"][0]
    webhook["url"] = f"{pager.url}/webhook"
    webhook["http_config"]["authorization"]["credentials_file"] = str(
        workdir / "oncall-webhook-token"
    )
    receivers["team-chat"]["slack_configs"][0]["api_url_file"] = str(workdir / "chat-webhook-url")
    path = workdir / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def start_alertmanager(tmp_path: Path) -> Iterator[Callable[..., Alertmanager]]:
    """Start Alertmanager with the project's routing; the critical route's receiver can vary."""
    require_service("Alertmanager", None if shutil.which(ALERTMANAGER_BIN) else "not installed")
    with ExitStack() as cleanup:

        def start(critical_receiver: str = "oncall-pager") -> Alertmanager:
            pager, chat = _start_receiver(), _start_receiver()
            for receiver in (pager, chat):
                cleanup.callback(receiver.server.server_close)
                cleanup.callback(receiver.server.shutdown)
            config = _config(tmp_path, pager, chat, critical_receiver)
            port = free_port()
            with (tmp_path / "alertmanager.out").open("wb") as output:
                process = subprocess.Popen(
                    [
                        ALERTMANAGER_BIN,
                        f"--config.file={config}",
                        f"--storage.path={tmp_path / 'data'}",
                        f"--web.listen-address=127.0.0.1:{port}",
                        "--cluster.listen-address=",
                    ],  # no gossip port: a single instance
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            cleanup.callback(stop_group, process)
            url = f"http://127.0.0.1:{port}"
            wait_until(
                lambda: process.poll() is not None or http_status(f"{url}/-/ready") == 200,
                30,
                "Alertmanager to be ready",
            )
            assert process.poll() is None, (tmp_path / "alertmanager.out").read_text()
            return Alertmanager(url, pager, chat)

        yield start


def _alertnames(notifications: list[dict[str, Any]]) -> list[str]:
    """The alert name of each chat (Slack) or pager (PagerDuty) notification."""
    names = []
    for note in notifications:
        body = note["body"]
        if "attachments" in body:
            names.append(body["attachments"][0]["title"].split()[1])
        else:
            names.append(
                body["payload"]["custom_details"]["firing"].split("alertname = ")[1].split()[0]
            )
    return names


def test_critical_alert_pages_with_the_routing_key_from_its_file(
    start_alertmanager: Callable[..., Alertmanager],
) -> None:
    manager = start_alertmanager()
    manager.post(alert("AIUpstreamFailing", provider="azure"))
    page = manager.pager.sole("/pagerduty")["body"]
    assert page["routing_key"] == ROUTING_KEY
    assert page["event_action"] == "trigger"
    assert page["payload"]["severity"] == "critical"
    runbook = RULES["AIUpstreamFailing"]["annotations"]["runbook_url"]
    assert page["payload"]["custom_details"]["runbook"] == runbook


def test_warning_alert_reaches_chat_with_its_runbook(
    start_alertmanager: Callable[..., Alertmanager],
) -> None:
    manager = start_alertmanager()
    manager.post(alert("RateLimitSpike", limit="key"))
    attachment = manager.chat.sole("/chat")["body"]["attachments"][0]
    assert attachment["title"] == f"[FIRING] RateLimitSpike ({JOB})"
    assert RULES["RateLimitSpike"]["annotations"]["runbook_url"] in attachment["text"]


def test_each_severity_reaches_only_its_receiver(
    start_alertmanager: Callable[..., Alertmanager],
) -> None:
    manager = start_alertmanager()
    manager.post(alert("AuditWriteFailure"), alert("AuthFailureSpike"))
    manager.pager.wait_for(1)
    manager.chat.wait_for(1)
    assert _alertnames(manager.pager.received) == ["AuditWriteFailure"]
    assert _alertnames(manager.chat.received) == ["AuthFailureSpike"]


def test_alerts_of_one_name_and_job_page_once(
    start_alertmanager: Callable[..., Alertmanager],
) -> None:
    manager = start_alertmanager()
    manager.post(
        alert("AIUpstreamFailing", provider="azure", instance="10.0.0.1:8000"),
        alert("AIUpstreamFailing", provider="azure", instance="10.0.0.2:8000"),
        alert("AIUpstreamFailing", job="other-service", provider="azure"),
    )
    pages = manager.pager.wait_for(2)
    counts = sorted(page["body"]["payload"]["custom_details"]["num_firing"] for page in pages)
    assert counts == ["1", "2"]


def post_service_down_beside_spikes(manager: Alertmanager) -> None:
    """ServiceDown, a same-job alert it should silence, and another job's it should not."""
    manager.post(
        alert("ServiceDown"),
        alert("RateLimitSpike", limit="key"),
        alert("RateLimitSpike", job="other-service", limit="key"),
    )


def test_service_down_inhibits_the_other_alerts_of_its_job(
    start_alertmanager: Callable[..., Alertmanager],
) -> None:
    manager = start_alertmanager()
    post_service_down_beside_spikes(manager)

    def current_states() -> dict[tuple[str, str], dict[str, Any]]:
        return {
            (a["labels"]["alertname"], a["labels"]["job"]): a["status"] for a in manager.alerts()
        }

    # The inhibitor learns of ServiceDown from the alert stream a moment after the API
    # lists it, so the first listing of three alerts may not show the suppression yet.
    wait_until(
        lambda: current_states().get(("RateLimitSpike", JOB), {}).get("state") == "suppressed",
        20,
        "this job's RateLimitSpike suppressed",
    )
    states = current_states()
    assert states[("RateLimitSpike", JOB)]["inhibitedBy"] != []
    assert states[("RateLimitSpike", "other-service")]["state"] == "active"
    assert states[("ServiceDown", JOB)]["state"] == "active"


def test_inhibited_alert_sends_no_notification(
    start_alertmanager: Callable[..., Alertmanager],
) -> None:
    manager = start_alertmanager()
    post_service_down_beside_spikes(manager)
    # Both RateLimitSpike groups flush after the same group_wait: once the other job's
    # message and the page arrived, this job's alert would have been sent too.
    manager.pager.wait_for(1)
    (message,) = manager.chat.wait_for(1)
    assert message["body"]["attachments"][0]["title"] == "[FIRING] RateLimitSpike (other-service)"


def test_webhook_variant_pages_with_the_bearer_token_from_its_file(
    start_alertmanager: Callable[..., Alertmanager],
) -> None:
    manager = start_alertmanager(critical_receiver="oncall-pager-webhook")
    manager.post(alert("ServiceDown"))
    page = manager.pager.sole("/webhook")
    assert page["headers"]["Authorization"] == f"Bearer {WEBHOOK_TOKEN}"
    assert [a["labels"]["alertname"] for a in page["body"]["alerts"]] == ["ServiceDown"]
