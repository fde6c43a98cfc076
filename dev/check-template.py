"""Offline checks of template.yaml, the third of the three in shared toolchain notes:
translate the SAM template with the real SAM translator, then lint the CloudFormation it
produces (catches what only shows after translation: runtimes, timeouts, policy shapes).
Also enforces the project's rule that no policy grants a write action on "*".

Usage: python dev/check-template.py template.yaml   (from the dev tools' virtual environment)
"""

import json
import os
import subprocess
import sys
import tempfile

from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    """The translator asks IAM for managed policy ARNs only for policies given by name; the
    template names none (it uses ARNs), so any lookup is a mistake."""

    def load(self):
        raise SystemExit("template.yaml names a managed policy: use its ARN instead")


READ_ONLY_PREFIXES = ("Get", "List", "Describe", "Lookup", "Head")


def wildcard_writes(resources):
    """Policy statements that allow a non-read action on Resource "*"."""
    problems = []
    for name, resource in resources.items():
        props = resource.get("Properties", {})
        policies = props.get("Policies", []) or []
        documents = [p.get("PolicyDocument", {}) for p in policies if isinstance(p, dict)]
        if resource.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents.append(props.get("PolicyDocument", {}))
        for document in documents:
            for statement in document.get("Statement", []):
                if statement.get("Effect") != "Allow":
                    continue
                targets = statement.get("Resource", [])
                targets = targets if isinstance(targets, list) else [targets]
                if "*" not in targets:
                    continue
                actions = statement.get("Action", [])
                actions = actions if isinstance(actions, list) else [actions]
                for action in actions:
                    verb = action.split(":", 1)[-1]
                    if not verb.startswith(READ_ONLY_PREFIXES):
                        problems.append(f"{name}: {action} on *")
    return problems


def main(path):
    # The translator fills in pseudo parameters from the session's region; any region will do.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with open(path, encoding="utf-8") as f:
        sam = yaml_parse(f.read())
    # Before `sam build`/`sam package`, CodeUri is a local folder; the translator wants the
    # S3 location packaging would give it.
    for resource in sam.get("Resources", {}).values():
        props = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Function" and not str(
            props.get("CodeUri", "")
        ).startswith("s3://"):
            props["CodeUri"] = "s3://packaged-code/function.zip"
    try:
        cfn = transform(sam, {}, NoManagedPolicies())
    except InvalidDocumentException as error:
        for cause in error.causes:
            print(f"{path}: {cause.message}", file=sys.stderr)
        return 1
    problems = wildcard_writes(cfn.get("Resources", {}))
    for problem in problems:
        print(f"{path}: policy grants a write action on *: {problem}", file=sys.stderr)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as out:
        json.dump(cfn, out, indent=1)
    lint = subprocess.run(["cfn-lint", out.name], check=False)
    if lint.returncode != 0:
        print(f"{path}: cfn-lint found problems in the translated template", file=sys.stderr)
    return 1 if problems or lint.returncode != 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "template.yaml"))
