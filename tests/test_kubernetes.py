"""The Kubernetes manifests in deploy/kubernetes/, checked offline: each validates (strictly: no unknown field)
against the API schemas kubernetes-validate bundles, for the oldest and newest Kubernetes this project
names, and the pieces fit together: probes on real routes, the Service on the pods, the Ingress on the
Service, the HPA on the Deployment, the API key from the Secret, the weights volume read-only."""

from __future__ import annotations

import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from backend.settings import MEGABYTE, Settings
from tests.helpers import make_client
from tests.test_deploy import RUNTIME_ENV, SETTINGS_ENV

REPO = Path(__file__).resolve().parent.parent
MANIFESTS = REPO / "deploy" / "kubernetes"
# Kubernetes releases the manifests must be valid for (1.30: the oldest still widely run).
VERSIONS = ("1.30.0", "1.37.0")
WEBSOCKET_IDLE_SECONDS = 3600


def load(path: Path) -> dict:
    (document,) = yaml.safe_load_all(path.read_text())
    return document


def applied() -> dict[str, dict]:
    """What `kubectl apply -f deploy/kubernetes/` applies (not its subfolders), by kind."""
    documents = [load(p) for p in sorted(MANIFESTS.glob("*.yaml"))]
    by_kind = {d["kind"]: d for d in documents}
    assert len(by_kind) == len(documents), "one resource of each kind"
    return by_kind


def container(deployment: dict) -> dict:
    (painter,) = deployment["spec"]["template"]["spec"]["containers"]
    return painter


def merge_patch(base: dict, patch: dict) -> dict:
    """A strategic merge patch as kubectl applies it to these fields: maps merge, lists of named items merge
    by name, other values replace."""
    merged = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = merge_patch(base[key], value)
        elif isinstance(value, list) and all(isinstance(v, dict) and "name" in v for v in value):
            items = {item["name"]: item for item in base.get(key, [])}
            for item in value:
                items[item["name"]] = merge_patch(items.get(item["name"], {}), item)
            merged[key] = list(items.values())
        else:
            merged[key] = value
    return merged


def every_manifest() -> list[Path]:
    return sorted(p for p in MANIFESTS.rglob("*.yaml") if p.name != "deployment-patch.yaml")


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", every_manifest(), ids=lambda p: str(p.relative_to(MANIFESTS)))
def test_manifest_validates_against_the_kubernetes_schema(path, version):
    kubernetes_validate.validate(load(path), version, strict=True)


@pytest.mark.parametrize("version", VERSIONS)
def test_the_weights_volume_patch_gives_a_valid_deployment_that_mounts_the_claim_read_only(version):
    patched = merge_patch(applied()["Deployment"], load(MANIFESTS / "weights-volume" / "deployment-patch.yaml"))
    kubernetes_validate.validate(patched, version, strict=True)
    painter = container(patched)
    (mount,) = [m for m in painter["volumeMounts"] if m["mountPath"] == "/app/weights"]
    assert mount["readOnly"] is True
    (volume,) = [v for v in patched["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"]]
    claim = load(MANIFESTS / "weights-volume" / "weights-pvc.yaml")
    assert volume["persistentVolumeClaim"] == {"claimName": claim["metadata"]["name"], "readOnly": True}
    assert claim["spec"]["accessModes"] == ["ReadOnlyMany"]
    assert {e["name"]: e.get("value") for e in painter["env"]}["WEIGHTS_DIR"] == mount["mountPath"]


def test_probes_ask_the_servers_health_routes_on_its_port(tiny_weights):
    painter = container(applied()["Deployment"])
    environment = {e["name"]: e.get("value") for e in painter["env"]}
    (port,) = painter["ports"]
    assert int(environment["PORT"]) == port["containerPort"]
    assert painter["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port["name"]}
    assert painter["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    # Liveness must not fail while a replica is busy: it may only be slower than readiness to give up.
    live, ready = painter["livenessProbe"], painter["readinessProbe"]
    assert live["periodSeconds"] * live["failureThreshold"] > ready["periodSeconds"] * ready["failureThreshold"]
    with make_client(tiny_weights) as client:
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert client.get(painter[probe]["httpGet"]["path"]).status_code == 200


def test_the_environment_names_settings_and_the_api_key_comes_from_the_secret():
    painter = container(applied()["Deployment"])
    names = {e["name"] for e in painter["env"]}
    assert not names - SETTINGS_ENV - RUNTIME_ENV, "names that backend/settings.py does not read"
    (key,) = [e for e in painter["env"] if e["name"] == "API_KEY"]
    assert set(key) == {"name", "valueFrom"}, "the key is never written into the Deployment"
    secret = load(MANIFESTS / "examples" / "api-key-secret.yaml")
    assert key["valueFrom"]["secretKeyRef"]["name"] == secret["metadata"]["name"]
    assert key["valueFrom"]["secretKeyRef"]["key"] in secret["stringData"]
    assert "Secret" not in applied(), "the example key must not be applied with the rest"


def test_the_pod_runs_as_the_images_user_and_writes_only_to_tmp():
    deployment = applied()["Deployment"]
    uid = re.search(r"useradd .*--uid (\d+)", (REPO / "Dockerfile").read_text()).group(1)
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == int(uid)
    painter = container(deployment)
    assert painter["securityContext"]["readOnlyRootFilesystem"] is True
    assert [m["mountPath"] for m in painter["volumeMounts"]] == ["/tmp"]


def test_rolling_updates_and_disruptions_keep_a_ready_pod():
    resources = applied()
    deployment, budget = resources["Deployment"], resources["PodDisruptionBudget"]
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert deployment["spec"]["replicas"] >= 2 and budget["spec"]["minAvailable"] >= 1
    assert budget["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    assert "preStop" in container(deployment)["lifecycle"]


def test_service_ingress_and_autoscaler_point_at_the_painter():
    resources = applied()
    deployment, service = resources["Deployment"], resources["Service"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"] == pod_labels
    assert service["spec"]["selector"].items() <= pod_labels.items()
    (service_port,) = service["spec"]["ports"]
    assert service_port["targetPort"] in {p["name"] for p in container(deployment)["ports"]}

    ingress = resources["Ingress"]
    (rule,) = ingress["spec"]["rules"]
    (path,) = rule["http"]["paths"]
    assert path["path"] == "/" and path["pathType"] == "Prefix"  # the page, the API and /ws
    assert path["backend"]["service"] == {"name": service["metadata"]["name"], "port": {"name": service_port["name"]}}
    notes = ingress["metadata"]["annotations"]
    for timeout in ("proxy-read-timeout", "proxy-send-timeout"):
        assert int(notes[f"nginx.ingress.kubernetes.io/{timeout}"]) >= WEBSOCKET_IDLE_SECONDS
    body_mb = int(notes["nginx.ingress.kubernetes.io/proxy-body-size"].rstrip("m"))
    assert body_mb * MEGABYTE >= 2 * Settings.model_fields["max_upload_bytes"].default + MEGABYTE

    autoscaler = resources["HorizontalPodAutoscaler"]
    target = autoscaler["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    (metric,) = autoscaler["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    # Utilisation is a share of the request: without one the autoscaler cannot scale.
    assert "cpu" in container(deployment)["resources"]["requests"]
    assert autoscaler["spec"]["minReplicas"] >= 2
