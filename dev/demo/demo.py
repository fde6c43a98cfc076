"""The helpers of dev/demo.sh: set up the local deployment (moto's S3 and Secrets Manager), make
the events the functions receive (a signed webhook, an S3 `Object Created` event), and turn the
functions' answers and what the Raito stand-in recorded into a few readable lines per stage.

    python3 dev/demo/demo.py COMMAND [ARGS...]     (run by dev/demo.sh; see each command's help)

Summaries go to stdout; the bucket and secret commands need the AWS_* variables of
`dev/services.sh start` (moto) and boto3 (the venv of `dev/setup.sh --all`).
"""

import argparse
import collections
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.request

DATA_SOURCE = "demo-warehouse-ds"
IDENTITY_STORE = "demo-warehouse-is"
INDENT = "   "


def out(line=""):
    print(f"{INDENT}{line}")


def short(text, width=90):
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def standin_state(url):
    with urllib.request.urlopen(f"{url}_standin/state", timeout=10) as response:
        return json.load(response)


# --- the deployment -------------------------------------------------------------------------


def cmd_deploy(args):
    import boto3

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=args.bucket)
    with open(args.config, "rb") as config:
        s3.put_object(Bucket=args.bucket, Key=args.config_key, Body=config.read())
    secrets = boto3.client("secretsmanager")
    secrets.create_secret(
        Name=args.raito_secret,
        SecretString=json.dumps(
            {"domain": "demo", "api-user": "demo@example.com", "api-secret": "demo-api-secret"}
        ),
    )
    secrets.create_secret(
        Name=args.webhook_secret_name, SecretString=json.dumps({"secret": args.webhook_secret})
    )


def cmd_put(args):
    import boto3

    with open(args.file, "rb") as body:
        boto3.client("s3").put_object(Bucket=args.bucket, Key=args.key, Body=body.read())


def cmd_get(args):
    import boto3

    body = boto3.client("s3").get_object(Bucket=args.bucket, Key=args.key)["Body"].read()
    sys.stdout.buffer.write(body)


def cmd_keys(args):
    import boto3

    pages = boto3.client("s3").get_paginator("list_objects_v2")
    for page in pages.paginate(Bucket=args.bucket, Prefix=args.prefix):
        for entry in page.get("Contents", []):
            print(entry["Key"])


# --- events -----------------------------------------------------------------------------------


def cmd_webhook_event(args):
    """A Function URL request signed as Raito signs its webhooks (README, Webhooks): the
    signature is `v1=` and the hex HMAC-SHA256 of `<timestamp>.<delivery>.<body>`."""
    timestamp = str(int(time.time()))
    signed = f"{timestamp}.{args.delivery}.{args.body}".encode()
    signature = hmac.new(args.secret.encode(), signed, hashlib.sha256).hexdigest()
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": "",
        "headers": {
            "content-type": "application/json",
            "x-raito-timestamp": timestamp,
            "x-raito-delivery": args.delivery,
            "x-raito-signature": f"v1={signature}",
        },
        "requestContext": {
            "http": {
                "method": "POST",
                "path": "/",
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "Raito",
            },
            "requestId": f"demo-{args.delivery}",
            "timeEpoch": int(time.time() * 1000),
        },
        "body": args.body,
        "isBase64Encoded": False,
    }
    print(json.dumps(event))


def cmd_object_created(args):
    """The event S3 sends through EventBridge when KEY is written (lambda_harness::object_created)."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    event = {
        "version": "0",
        "id": f"demo-{int(time.time() * 1000)}",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "000000000000",
        "time": now,
        "region": "us-east-1",
        "resources": [f"arn:aws:s3:::{args.bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": args.bucket},
            "object": {"key": args.key, "size": 1},
            "reason": "PutObject",
        },
    }
    print(json.dumps(event))


def cmd_queued_keys(args):
    """The keys a webhook's 202 answer (run-lambda's stdout) queued: README, Webhooks: "queued
    under `triggers/<step>/<target>/<id>.json`" (the demo's target name needs no escaping)."""
    with open(args.result) as result:
        answer = json.load(result)
    body = json.loads(answer["body"]) if isinstance(answer["body"], str) else answer["body"]
    for entry in body.get("queued", []):
        print(f"triggers/{entry['step']}/{entry['target']}/{body['delivery']}.json")


# --- the access providers Raito manages -----------------------------------------------------


def cmd_add_what(args):
    """Adds a data object to access provider ID of the seed FILE (what a user does in Raito),
    written whole at once so that the stand-in never reads half a file."""
    with open(args.file) as seed:
        access_providers = json.load(seed)
    for ap in access_providers:
        if ap["id"] == args.id:
            ap["what"].append(
                {
                    "dataObject": {"fullName": args.full_name, "type": args.type},
                    "permissions": args.permissions.split(","),
                }
            )
            break
    else:
        sys.exit(f"demo.py: no access provider {args.id} in {args.file}")
    temp = f"{args.file}.new"
    with open(temp, "w") as seed:
        json.dump(access_providers, seed, indent=2)
    os.replace(temp, args.file)


def cmd_wait_version(args):
    """Waits until the stand-in holds access provider ID at VERSION (it re-reads its seed file
    every 100 ms); says which version it holds when it does not within the timeout."""
    deadline = time.monotonic() + args.timeout
    version = None
    while time.monotonic() < deadline:
        for ap in standin_state(args.url)["accessProviders"].get(DATA_SOURCE, []):
            if ap["accessProvider"]["id"] == args.id:
                version = ap["version"]
        if version == args.version:
            return
        time.sleep(0.05)
    sys.exit(f"demo.py: access provider {args.id} is at version {version}, not {args.version}")


# --- summaries --------------------------------------------------------------------------------


def counts_text(counts):
    return ", ".join(f"{value} {key}" for key, value in counts.items()) or "nothing counted"


def cmd_answer(args):
    """A function's answer (run-lambda's stdout) in a few lines."""
    with open(args.result) as result:
        answer = json.load(result)
    if isinstance(answer, dict) and "statusCode" in answer:
        body = answer.get("body")
        if isinstance(body, str):
            try:
                body = json.loads(body)
            except ValueError:
                pass
        out(f"answered HTTP {answer['statusCode']}: {short(json.dumps(body), 130)}")
        return
    if isinstance(answer, dict) and "errorType" in answer:
        out(f"failed: {answer['errorType']}: {short(answer.get('errorMessage', ''), 200)}")
        return
    if isinstance(answer, list):
        # Access-as-code: one entry per file applied.
        for applied in answer:
            out(f"applied {applied['file']}: {counts_text(applied.get('counts', {}))}")
            if applied.get("feedback"):
                out(f"  feedback written to {applied['feedback']}")
        return
    queued = answer.get("queued")
    if isinstance(queued, dict):
        keys = [entry["key"] for entry in queued.get("queued", []) + queued.get("woken", [])]
        out(f"the payload queued {len(keys)} trigger(s), each run by its own invocation: "
            + ", ".join(keys))
    for target in answer.get("targets", []):
        job = f", Raito job {target['jobId']}" if target.get("jobId") else ""
        message = f" ({short(target['message'], 120)})" if target.get("message") else ""
        out(f"target {target['name']}: {target['status']}{job}{message}")
        for step in target.get("steps", []):
            out(f"  {step['step']}: {step['status']} in {step.get('elapsedMs', 0)} ms; "
                + counts_text(step.get("counts", {})))
            if step.get("message"):
                out(f"    {short(step['message'], 160)}")


def job_line(state, job_id):
    for job in state["jobs"]:
        if job["id"] == job_id:
            return f"job {job_id}: " + " -> ".join(u["status"] for u in job["history"])
    return f"job {job_id}: not in Raito"


def jobs_of(result_file):
    with open(result_file) as result:
        answer = json.load(result)
    return [t["jobId"] for t in answer.get("targets", []) if t.get("jobId")]


def cmd_raito(args):
    """What the Raito stand-in holds now for one stage."""
    state = standin_state(args.url)
    STAGES[args.stage](state, args)
    for job_id in jobs_of(args.result) if args.result else []:
        out(job_line(state, job_id))


def raito_metadata(state, args):
    objects = state["dataObjects"].get(DATA_SOURCE, [])
    by_type = collections.Counter(o["type"] for o in objects)
    out(f"Raito: data source {DATA_SOURCE} holds {len(objects)} data objects: "
        + ", ".join(f"{n} {t}" for t, n in sorted(by_type.items())))
    awkward = [o["fullName"] for o in objects if '"' in o["fullName"] and o["type"] == "table"]
    if awkward:
        out("  e.g. " + ", ".join(awkward[:3]))


def raito_identities(state, args):
    users = state["users"].get(IDENTITY_STORE, [])
    groups = {g["externalId"]: g for g in state["groups"].get(IDENTITY_STORE, [])}
    out(f"Raito: identity store {IDENTITY_STORE} holds {len(users)} users, {len(groups)} groups")
    for user in users:
        member_of = ", ".join(groups[g]["name"] for g in user["groupExternalIds"] or [])
        out(f"  user  {user['userName']:<16} in: {member_of or '-'}")
    for group in groups.values():
        parents = ", ".join(groups[g]["name"] for g in group["parentGroupExternalIds"] or [])
        out(f"  group {group['name']:<16} in: {parents or '-'}")


def raito_access(state, args):
    exports = state["accessExports"]
    if exports:
        last = exports[-1]
        scope = "out-of-sync only" if last["outOfSyncOnly"] else "all"
        out(f"Raito: {len(exports)} access export(s); the last carried "
            f"{len(last['accessProviders'])} access provider(s) ({scope})")
    for ap in state["accessProviders"].get(DATA_SOURCE, []):
        spec = ap["accessProvider"]
        in_sync = ap["appliedVersion"] == ap["version"] and not spec.get("delete")
        feedback = ap.get("feedback") or {}
        errors = "; ".join(feedback.get("errors") or [])
        what = ", ".join(w["dataObject"]["fullName"] for w in spec["what"])
        out(f"  {spec['name']!r} -> role {ap.get('actualName')!r}, version {ap['version']}, "
            f"{'in sync' if in_sync else 'OUT OF SYNC'}{': ' + errors if errors else ''}")
        out(f"    what: {short(what, 100)}")
    imported = state["importedAccessProviders"].get(DATA_SOURCE, [])
    if imported and not args.no_import:
        names = ", ".join(ap["externalId"] for ap in imported)
        out(f"Raito: {len(imported)} role(s) imported from the target: {short(names, 100)}")


def raito_usage(state, args):
    statements = state["statements"].get(DATA_SOURCE, [])
    by_user = collections.Counter(s["user"] for s in statements)
    out(f"Raito: data source {DATA_SOURCE} holds {len(statements)} statements: "
        + ", ".join(f"{n} by {u}" for u, n in by_user.most_common()))
    for statement in statements:
        if statement["user"] != args.user:
            continue
        objects = ", ".join(
            f"{a['globalPermission']} {a['dataObject']['fullName']}"
            for a in statement["accessedDataObjects"]
        )
        status = "ok    " if statement["success"] else "failed"
        out(f"  {args.user} {status} {short(statement['query'], 58):<58} {objects or '-'}")


STAGES = {
    "metadata": raito_metadata,
    "identities": raito_identities,
    "access": raito_access,
    "usage": raito_usage,
}


def cmd_metadata_file(args):
    """A data source import file (raito-sync metadata --out) in a few lines."""
    with open(args.file) as file:
        objects = json.load(file)
    by_type = collections.Counter(o["type"] for o in objects)
    out(f"{len(objects)} elements: " + ", ".join(f"{n} {t}" for t, n in sorted(by_type.items())))
    shown = [o for o in objects if o["type"] != "datasource"][: args.show]
    for element in shown:
        out(f"  {element['type']:<18} {element.get('fullName') or element.get('externalId')}")


def cmd_feedback(args):
    """An access-as-code feedback file (next to the applied file in the bucket)."""
    with open(args.file) as file:
        feedback = json.load(file)
    for element in feedback:
        for access in element["access"]:
            errors = "; ".join(access.get("errors") or []) or "no errors"
            out(f"feedback: {element['externalId']} -> role {access['actualName']!r}: {errors}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    deploy = commands.add_parser("deploy", help="bucket, raito.yml and secrets in moto")
    for name in ("bucket", "config", "config_key", "raito_secret", "webhook_secret_name",
                 "webhook_secret"):
        deploy.add_argument(name)
    deploy.set_defaults(run=cmd_deploy)

    put = commands.add_parser("put", help="FILE to s3://BUCKET/KEY")
    put.add_argument("bucket")
    put.add_argument("key")
    put.add_argument("file")
    put.set_defaults(run=cmd_put)

    get = commands.add_parser("get", help="s3://BUCKET/KEY to stdout")
    get.add_argument("bucket")
    get.add_argument("key")
    get.set_defaults(run=cmd_get)

    keys = commands.add_parser("keys", help="the keys under s3://BUCKET/PREFIX")
    keys.add_argument("bucket")
    keys.add_argument("prefix")
    keys.set_defaults(run=cmd_keys)

    webhook = commands.add_parser("webhook-event", help="a signed Function URL request")
    webhook.add_argument("body")
    webhook.add_argument("delivery")
    webhook.add_argument("secret")
    webhook.set_defaults(run=cmd_webhook_event)

    queued_keys = commands.add_parser("queued-keys", help="the keys a webhook's answer queued")
    queued_keys.add_argument("result")
    queued_keys.set_defaults(run=cmd_queued_keys)

    created = commands.add_parser("object-created", help="S3's Object Created event")
    created.add_argument("bucket")
    created.add_argument("key")
    created.set_defaults(run=cmd_object_created)

    add_what = commands.add_parser("add-what", help="a data object more in a seeded access provider")
    add_what.add_argument("file")
    add_what.add_argument("id")
    add_what.add_argument("full_name")
    add_what.add_argument("type")
    add_what.add_argument("permissions", help="comma-separated")
    add_what.set_defaults(run=cmd_add_what)

    wait = commands.add_parser("wait-version", help="until the stand-in holds ID at VERSION")
    wait.add_argument("url")
    wait.add_argument("id")
    wait.add_argument("version", type=int)
    wait.add_argument("--timeout", type=float, default=10)
    wait.set_defaults(run=cmd_wait_version)

    answer = commands.add_parser("answer", help="a function's answer")
    answer.add_argument("result")
    answer.set_defaults(run=cmd_answer)

    raito = commands.add_parser("raito", help="what the stand-in holds for a stage")
    raito.add_argument("stage", choices=sorted(STAGES))
    raito.add_argument("url")
    raito.add_argument("--result", help="the function's answer: its jobs are shown")
    raito.add_argument("--user", help="usage: list this user's statements")
    raito.add_argument("--no-import", action="store_true", help="access: not the imported roles")
    raito.set_defaults(run=cmd_raito)

    metadata = commands.add_parser("metadata-file", help="a data source import file")
    metadata.add_argument("file")
    metadata.add_argument("--show", type=int, default=6)
    metadata.set_defaults(run=cmd_metadata_file)

    feedback = commands.add_parser("feedback", help="an access-as-code feedback file")
    feedback.add_argument("file")
    feedback.set_defaults(run=cmd_feedback)

    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
