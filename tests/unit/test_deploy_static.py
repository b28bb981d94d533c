"""Deployment files, checked offline: Kubernetes schemas, hadolint, the Compose spec, properties.

No Docker engine or cluster runs here, so these checks are what stands behind deploy/.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from scripts.generate_rules import RULES_DIR, resolved_groups

from tests.processes import BIN, ROOT
from tests.services import require_service

DEPLOY = ROOT / "deploy"
OVERLAY = DEPLOY / "k8s" / "overlays" / "production"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
CUSTOM_KINDS = {"ServiceMonitor", "PrometheusRule"}
PINNED_IMAGE = re.compile(r"^[^:@]+(:(?!latest$)[\w][\w.-]*|@sha256:[0-9a-f]{64})$")


@pytest.fixture(scope="module")
def manifests() -> list[dict[str, Any]]:
    """The production overlay as `kubectl kustomize` renders it."""
    require_service("kubectl", None if shutil.which("kubectl") else "not installed")
    rendered = subprocess.run(
        ["kubectl", "kustomize", str(OVERLAY)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return [doc for doc in yaml.safe_load_all(rendered) if doc]


def one(manifests: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    """The single manifest of KIND."""
    found = [doc for doc in manifests if doc["kind"] == kind]
    assert len(found) == 1, f"{len(found)} {kind} manifests"
    return found[0]


def pod_spec(manifests: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    spec: dict[str, Any] = one(manifests, kind)["spec"]["template"]["spec"]
    return spec


def config(manifests: list[dict[str, Any]]) -> dict[str, str]:
    data: dict[str, str] = one(manifests, "ConfigMap")["data"]
    return data


def dockerfile_env(name: str) -> str:
    """The value the Dockerfile's ENV gives NAME."""
    match = re.search(rf"\b{name}=(\S+)", DOCKERFILE.read_text())
    assert match, f"{name} is not set in the Dockerfile"
    return match[1]


# --- Kubernetes ------------------------------------------------------------------------------


def test_rendered_manifests_match_the_kubernetes_schemas(manifests: list[dict[str, Any]]) -> None:
    problems = []
    for doc in manifests:
        if doc["kind"] in CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{doc['kind']}/{doc['metadata']['name']}: {exc.message}")
    assert problems == []


def test_the_overlay_renders_every_kind_the_service_needs(manifests: list[dict[str, Any]]) -> None:
    kinds = {doc["kind"] for doc in manifests}
    assert kinds >= {
        "Deployment",
        "Job",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "ConfigMap",
        *CUSTOM_KINDS,
    }


# The Prometheus Operator CRDs are not in the Kubernetes schemas: the fields we rely on.
def operator_resource(spec: dict[str, Any]) -> dict[str, Any]:
    """The schema of a Prometheus Operator resource whose `spec` has the fields in SPEC."""
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": "monitoring.coreos.com/v1"},
            "spec": {"type": "object", "additionalProperties": False, **spec},
        },
    }


def non_empty_array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "minItems": 1, "items": {"type": "object", **items}}


SERVICE_MONITOR_SCHEMA = operator_resource(
    {
        "required": ["selector", "endpoints"],
        "properties": {
            "jobLabel": {"type": "string"},
            "selector": {"type": "object", "required": ["matchLabels"]},
            "endpoints": non_empty_array(
                {
                    "required": ["port", "path"],
                    "additionalProperties": False,
                    "properties": {
                        "port": {"type": "string"},
                        "path": {"type": "string"},
                        "interval": {"type": "string", "pattern": r"^\d+[smh]$"},
                        "scrapeTimeout": {"type": "string", "pattern": r"^\d+[smh]$"},
                        "authorization": {"type": "object", "required": ["credentials"]},
                    },
                }
            ),
        },
    }
)
PROMETHEUS_RULE_SCHEMA = operator_resource(
    {
        "required": ["groups"],
        "properties": {
            "groups": non_empty_array(
                {
                    "required": ["name", "rules"],
                    "properties": {
                        "name": {"type": "string"},
                        "interval": {"type": "string"},
                        "rules": non_empty_array(
                            {
                                "required": ["expr"],
                                "oneOf": [{"required": ["alert"]}, {"required": ["record"]}],
                            }
                        ),
                    },
                }
            )
        },
    }
)


@pytest.mark.parametrize(
    ("kind", "schema"),
    [("ServiceMonitor", SERVICE_MONITOR_SCHEMA), ("PrometheusRule", PROMETHEUS_RULE_SCHEMA)],
)
def test_custom_resources_are_well_formed(
    manifests: list[dict[str, Any]], kind: str, schema: dict[str, Any]
) -> None:
    jsonschema.validate(one(manifests, kind), schema)


def test_prometheus_rule_carries_every_group_of_monitoring(manifests: list[dict[str, Any]]) -> None:
    assert one(manifests, "PrometheusRule")["spec"]["groups"] == resolved_groups()


def test_prometheus_rule_passes_promtool(manifests: list[dict[str, Any]], tmp_path: Path) -> None:
    require_service("promtool", None if shutil.which("promtool") else "not installed")
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump({"groups": one(manifests, "PrometheusRule")["spec"]["groups"]}))
    result = subprocess.run(
        ["promtool", "check", "rules", str(rules)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_scrape_job_is_the_one_the_rules_select(manifests: list[dict[str, Any]]) -> None:
    service = one(manifests, "Service")
    job = service["metadata"]["labels"][one(manifests, "ServiceMonitor")["spec"]["jobLabel"]]
    rule_text = "".join(path.read_text() for path in RULES_DIR.glob("*.yml"))
    assert set(re.findall(r'job="([^"]+)"', rule_text)) <= {job}


def test_service_monitor_scrapes_the_api_port(manifests: list[dict[str, Any]]) -> None:
    monitor, service = one(manifests, "ServiceMonitor"), one(manifests, "Service")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["spec"]["selector"].items()
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == [
        service["spec"]["ports"][0]["name"]
    ]
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"


@pytest.mark.parametrize("kind", ["Deployment", "Job"])
def test_containers_run_non_root_on_a_read_only_root(
    manifests: list[dict[str, Any]], kind: str
) -> None:
    pod = pod_spec(manifests, kind)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] > 0
    for container in pod["containers"]:
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"]["drop"] == ["ALL"]


@pytest.mark.parametrize("kind", ["Deployment", "Job"])
def test_containers_set_requests_and_limits(manifests: list[dict[str, Any]], kind: str) -> None:
    for container in pod_spec(manifests, kind)["containers"]:
        for bound in ("requests", "limits"):
            assert set(container["resources"][bound]) == {"cpu", "memory"}


@pytest.mark.parametrize("kind", ["Deployment", "Job"])
def test_images_are_pinned(manifests: list[dict[str, Any]], kind: str) -> None:
    for container in pod_spec(manifests, kind)["containers"]:
        assert PINNED_IMAGE.match(container["image"]), container["image"]


@pytest.mark.parametrize(
    ("probe", "path"),
    [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz"), ("startupProbe", "/healthz")],
)
def test_probes_ask_the_right_paths(manifests: list[dict[str, Any]], probe: str, path: str) -> None:
    container = pod_spec(manifests, "Deployment")["containers"][0]
    assert container[probe]["httpGet"] == {"path": path, "port": "http"}
    assert container["ports"][0] == {"name": "http", "containerPort": 8000, "protocol": "TCP"}


@pytest.mark.parametrize("kind", ["Deployment", "Job"])
def test_writable_paths_are_empty_dirs(manifests: list[dict[str, Any]], kind: str) -> None:
    pod = pod_spec(manifests, kind)
    empty_dirs = {volume["name"] for volume in pod["volumes"] if "emptyDir" in volume}
    mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
    for path in (dockerfile_env("PROMETHEUS_MULTIPROC_DIR"), "/app/var"):
        assert mounts[path] in empty_dirs


def test_compose_and_kubernetes_make_the_same_paths_writable(
    manifests: list[dict[str, Any]], compose: dict[str, Any]
) -> None:
    service = compose["services"]["ielts-service"]
    in_compose = {*service["tmpfs"], *(v.split(":")[1] for v in service["volumes"])}
    in_pods = {
        m["mountPath"] for m in pod_spec(manifests, "Deployment")["containers"][0]["volumeMounts"]
    }
    assert in_compose == in_pods


def test_pods_log_to_stdout_only(manifests: list[dict[str, Any]]) -> None:
    assert config(manifests)["LOG_FILE"] == ""


def test_migration_job_runs_the_migrations(manifests: list[dict[str, Any]]) -> None:
    container = pod_spec(manifests, "Job")["containers"][0]
    assert container["command"] == ["flask", "--app", "ielts_service", "db", "upgrade"]
    assert config(manifests)["AUTO_MIGRATE"] == "false"


def test_pods_run_the_commands_the_image_test_runs(
    manifests: list[dict[str, Any]], compose: dict[str, Any]
) -> None:
    """The image test runs Compose's commands; the pods run the same ones."""
    services = compose["services"]
    job = pod_spec(manifests, "Job")["containers"][0]
    api = pod_spec(manifests, "Deployment")["containers"][0]
    assert job["command"] == services["migrate"]["command"]
    # Both run the image's CMD.
    assert not {"command", "args"} & api.keys()
    assert "command" not in services["ielts-service"]


def test_production_runs_three_replicas_with_a_surge(manifests: list[dict[str, Any]]) -> None:
    deployment, hpa = one(manifests, "Deployment"), one(manifests, "HorizontalPodAutoscaler")
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    assert hpa["spec"]["minReplicas"] == 3
    assert hpa["spec"]["maxReplicas"] > 3
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]


def test_selectors_pick_the_api_pods_only(manifests: list[dict[str, Any]]) -> None:
    api_labels = one(manifests, "Deployment")["spec"]["template"]["metadata"]["labels"]
    job_labels = one(manifests, "Job")["spec"]["template"]["metadata"]["labels"]
    for selector in (
        one(manifests, "Service")["spec"]["selector"],
        one(manifests, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
    ):
        assert selector.items() <= api_labels.items()
        assert not selector.items() <= job_labels.items()


def test_env_comes_from_the_config_map_and_the_secret(manifests: list[dict[str, Any]]) -> None:
    env_from = pod_spec(manifests, "Deployment")["containers"][0]["envFrom"]
    assert env_from == [
        {"configMapRef": {"name": one(manifests, "ConfigMap")["metadata"]["name"]}},
        {"secretRef": {"name": "ielts-question-service"}},
    ]


def test_shutdown_fits_in_the_grace_period(manifests: list[dict[str, Any]]) -> None:
    pod, settings = pod_spec(manifests, "Deployment"), config(manifests)
    pre_stop = pod["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    graceful = int(settings["GUNICORN_GRACEFUL_TIMEOUT"])
    assert 0 < float(settings["SHUTDOWN_DRAIN_S"]) < graceful
    assert pod["terminationGracePeriodSeconds"] > int(pre_stop[1]) + graceful


def test_network_policy_admits_only_the_api_port(manifests: list[dict[str, Any]]) -> None:
    policy = one(manifests, "NetworkPolicy")["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    assert [rule["ports"] for rule in policy["ingress"]] == [[{"port": 8000, "protocol": "TCP"}]]


def test_network_policy_lets_out_dns_database_redis_and_https(
    manifests: list[dict[str, Any]],
) -> None:
    egress = one(manifests, "NetworkPolicy")["spec"]["egress"]
    ports = {(port["port"], port["protocol"]) for rule in egress for port in rule["ports"]}
    assert ports == {(53, "UDP"), (53, "TCP"), (5432, "TCP"), (6379, "TCP"), (443, "TCP")}


# --- Dockerfile ------------------------------------------------------------------------------


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [str(BIN / "hadolint"), str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("what", "pattern"),
    [
        ("pinned slim base", r"(?m)^ARG PYTHON_IMAGE=python:3\.\d+\.\d+-slim-\w+$"),
        (
            "two stages",
            r"(?s)^.*FROM \$\{PYTHON_IMAGE\} AS build.*FROM \$\{PYTHON_IMAGE\} AS runtime",
        ),
        (
            "deps from the hash-checked lock, then the project alone",
            r"(?m)^RUN pip install --no-cache-dir --require-hashes --no-deps "
            r"-r requirements/runtime\.txt\n(.*\n)*RUN pip install --no-cache-dir --no-deps ",
        ),
        ("non-root user", r"(?m)^USER [1-9]\d*:[1-9]\d*$"),
        (
            "health check on /healthz",
            r"(?m)^HEALTHCHECK .*\n.*urlopen\('http://127\.0\.0\.1:%s/healthz'",
        ),
        (
            "gunicorn with the project's settings",
            r'(?m)^CMD \["gunicorn", "--config", "deploy/gunicorn\.conf\.py", '
            r'"ielts_service\.wsgi:app"\]$',
        ),
        ("OCI source label", r"org\.opencontainers\.image\.source="),
        ("OCI version label", r"org\.opencontainers\.image\.version="),
    ],
)
def test_dockerfile_has(what: str, pattern: str) -> None:
    assert re.search(pattern, DOCKERFILE.read_text()), what


def test_build_context_holds_what_the_dockerfile_copies() -> None:
    allowed = {
        line[1:].rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    copied = re.findall(r"(?m)^COPY (?!--from)(.+) \S+$", DOCKERFILE.read_text())
    sources = {source for line in copied for source in line.split()}
    assert sources <= allowed
    assert all((ROOT / source).exists() for source in sources)


# --- Compose ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


def test_compose_file_matches_the_compose_specification() -> None:
    result = subprocess.run(
        [
            str(BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE_FILE),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_the_whole_stack(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {
        "ielts-service",
        "migrate",
        "audit-verify",
        "postgres",
        "redis",
        "prometheus",
        "alertmanager",
        "grafana",
    }


def test_every_long_running_compose_service_has_a_health_check(compose: dict[str, Any]) -> None:
    unchecked = [
        name
        for name, service in compose["services"].items()
        if name != "migrate" and "healthcheck" not in service
    ]
    assert unchecked == []


def test_service_waits_for_healthy_stores_and_the_migration(compose: dict[str, Any]) -> None:
    assert compose["services"]["ielts-service"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    assert compose["services"]["migrate"]["command"] == [
        "flask",
        "--app",
        "ielts_service",
        "db",
        "upgrade",
    ]


def test_compose_state_lives_in_named_volumes(compose: dict[str, Any]) -> None:
    named = set(compose["volumes"])
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source in named or (COMPOSE_FILE.parent / source).exists(), volume


def test_compose_mounts_the_project_monitoring_files(compose: dict[str, Any]) -> None:
    mounts = [
        volume
        for service in compose["services"].values()
        for volume in service.get("volumes", [])
        if volume.startswith("../monitoring/")
    ]
    assert {mount.split(":")[0] for mount in mounts} == {
        "../monitoring/prometheus/prometheus.yml",
        "../monitoring/prometheus/generated",
        "../monitoring/alertmanager/alertmanager.yml",
        "../monitoring/grafana/provisioning",
        "../monitoring/grafana/dashboards",
    }


def test_compose_secrets_come_from_the_env_file() -> None:
    text = COMPOSE_FILE.read_text()
    required = set(re.findall(r"\$\{(\w+):\?", text)) | set(
        re.findall(r"environment: (\w+)\n", text)
    )
    example = (DEPLOY / "compose.env.example").read_text()
    assert required <= set(re.findall(r"(?m)^(\w+)=", example))
    assert not re.search(r"(?i)(password|secret|token|key)\w*: (?!\$\{)\S", text)


def test_env_file_is_not_committed() -> None:
    ignored = subprocess.run(["git", "check-ignore", "-q", "deploy/.env"], cwd=ROOT, timeout=30)
    assert ignored.returncode == 0
