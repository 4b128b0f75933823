"""Writes the fuzz targets' seed inputs from the repository's fixtures into CORPUS/TARGET.

Each seed has the input format its harness function documents (src/harness.rs), so the
fuzzers start from real IDs, patterns, values files, bundles and ARM bodies.
"""
import hashlib
import io
import json
import pathlib
import sys
import tarfile

root = pathlib.Path(__file__).resolve().parents[2]
corpus = pathlib.Path(sys.argv[1])
fixtures = root / "fixtures"
bundles = sorted(p for p in fixtures.iterdir() if (p / "manifest.json").exists())


def seed(target, data):
    if isinstance(data, str):
        data = data.encode()
    folder = corpus / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


def reads(bundle):
    return [json.loads(p.read_text()) for p in sorted((bundle / "reads").glob("*.json"))]


ids, operations = set(), set()
for bundle in bundles:
    target = json.loads((bundle / "manifest.json").read_text())["target"]
    ids.update(v for v in target.values() if isinstance(v, str) and v.startswith("/"))
    ids.update(r["path"] for r in reads(bundle))
for requirement in (root / "src/requirements").glob("*.json"):
    operations.update(
        s for s in json.dumps(json.loads(requirement.read_text())).split('"')
        if s.startswith("Microsoft.") or s.startswith("*")
    )
for role in json.loads((fixtures / "builtin-roles.json").read_text())[:40]:
    for permission in role.get("properties", role).get("permissions", []):
        operations.update(permission.get("actions", []) + permission.get("notActions", []))

for i in ids:
    seed("resource_id", i)
ordered = sorted(operations)
for a, b in zip(ordered, ordered[1:] + ordered[:1]):
    seed("operation_patterns", f"{a}\n{b}")

for values in sorted((fixtures / "proxy-values").glob("*.yaml")):
    seed("helm_values", values.read_bytes())
for expression in [
    "proxy.httpProxy.noProxy=localhost\\,.svc\\,10.0.0.0/16",
    "proxy.azureProxyEnabled=true,proxy.includeNoProxyList={px-backup,pxcentral-keycloak}",
    "a.b[0].c=1,a\\.b=x,list={a,b},n=null",
]:
    seed("helm_set", expression)

for prefix, ports, port in [
    ("10.0.0.0/8", "443", 443),
    ("AzureBackup", "10002-10003", 10002),
    ("*", "*", 80),
    ("VirtualNetwork", "1-65535", 65535),
]:
    seed("nsg_rule", port.to_bytes(2, "little") + f"{prefix}\n{ports}\nTcp".encode())

for bundle in bundles:
    files = [(bundle / "manifest.json").read_bytes()]
    files += [p.read_bytes() for p in sorted((bundle / "reads").glob("*.json"))]
    seed("bundle_files", b"\0".join(files))
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        for path in sorted(bundle.rglob("*.json")):
            tar.add(path, arcname=f"bundle/{path.relative_to(bundle)}")
    seed("bundle_archive", archive.getvalue())

def key(read):
    """The order `Fixture::load` keeps reads in (`RawRead::key`)."""
    path = read["path"].lower()
    return f"{path}?$filter={read['filter']}" if read.get("filter") else path


for index, read in enumerate(sorted(reads(fixtures / "ready"), key=key)):
    body = json.dumps(read.get("body") or read.get("error") or {}).encode()
    seed("arm_body", bytes([index, 0]) + body)
    seed("arm_body", bytes([index, 1]) + body)
