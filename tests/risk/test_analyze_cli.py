"""kubectl, helm, terraform, git and cloud CLIs, as shell commands or as argv for a CLI tool."""

from __future__ import annotations

import pytest

from interlock.risk.analyzers import analyze


def found(command: str, tool: str = "shell") -> dict[str, tuple[str, str | None]]:
    """signal -> (effect, environment)."""
    return {f.signal: (f.effect, f.environment) for f in analyze(tool, {"command": command})}


@pytest.mark.parametrize(
    ("command", "signal", "effect", "env"),
    [
        ("kubectl delete pod web-0", "k8s.delete", "delete", None),
        ("kubectl --context prod-eu delete deploy/api", "k8s.delete", "delete", "production"),
        ("kubectl delete pvc data-db-0 -n staging", "k8s.delete", "destroy", "staging"),
        (
            "kubectl delete ns payments --context=gke_acme_prod",
            "k8s.delete_namespace",
            "destroy",
            "production",
        ),
        ("kubectl -n dev delete pods --all", "k8s.delete", "delete", "dev"),
        ("kubectl scale deploy/api --replicas=0", "k8s.scale_to_zero", "config", None),
        ("kubectl scale --replicas 0 statefulset db", "k8s.scale_to_zero", "config", None),
        ("kubectl apply -f deploy.yaml --context production", "k8s.apply", "config", "production"),
        ("kubectl apply --prune -l app=x -f dir/", "k8s.delete", "delete", None),
        ("kubectl replace --force -f pod.yaml", "k8s.apply", "config", None),
        ("kubectl drain node-1 --ignore-daemonsets", "k8s.drain", "config", None),
        ("kubectl cordon node-1", "k8s.cordon", "config", None),
        ("helm uninstall api -n prod", "k8s.delete", "delete", "production"),
        ("terraform destroy", "terraform.destroy", "destroy", None),
        ("terraform destroy -auto-approve", "terraform.auto_approve", "config", None),
        (
            "terraform apply -destroy -var env=production",
            "terraform.destroy",
            "destroy",
            "production",
        ),
        ("terraform apply -auto-approve", "terraform.auto_approve", "config", None),
        (
            "terraform apply -replace=aws_db_instance.main",
            "terraform.apply_with_deletions",
            "destroy",
            None,
        ),
        (
            "terraform -chdir=envs/prod state rm aws_s3_bucket.logs",
            "terraform.state_rm",
            "config",
            "production",
        ),
        ("tofu destroy -var-file=staging.tfvars", "terraform.destroy", "destroy", "staging"),
        ("git push -f origin main", "git.force_push", "destroy", None),
        ("git push --force-with-lease origin feature", "git.force_push", "destroy", None),
        ("git push origin +main", "git.force_push", "destroy", None),
        ("git push origin --delete release", "git.remote_branch_delete", "delete", None),
        ("git push origin :old-branch", "git.remote_branch_delete", "delete", None),
        ("git reset --hard origin/main", "git.history_rewrite", "destroy", None),
        ("git filter-branch --tree-filter 'rm x' HEAD", "git.history_rewrite", "destroy", None),
        ("git clean -fdx", "git.clean", "delete", None),
        ("aws ec2 terminate-instances --instance-ids i-123", "cloud.terminate", "destroy", None),
        (
            "aws --profile prod rds delete-db-instance --db-instance-identifier db1 "
            "--skip-final-snapshot",
            "cloud.delete",
            "destroy",
            "production",
        ),
        ("aws s3 rb s3://acme-backups --force", "cloud.delete", "destroy", None),
        ("aws s3 rm s3://acme-prod-logs/ --recursive", "cloud.delete", "delete", "production"),
        ("aws ec2 delete-volume --volume-id vol-1", "cloud.delete", "destroy", None),
        ("aws ec2 detach-volume --volume-id vol-1", "cloud.detach", "config", None),
        (
            "aws rds modify-db-instance --db-instance-identifier d --backup-retention-period 0",
            "cloud.disable_backups",
            "destroy",
            None,
        ),
        (
            "aws ec2 authorize-security-group-ingress --group-id sg-1 --protocol tcp --port 22 "
            "--cidr 0.0.0.0/0",
            "cloud.open_to_world",
            "network",
            None,
        ),
        (
            "aws iam attach-user-policy --user-name bob --policy-arn arn:aws:iam::aws:policy/Admin",
            "cloud.iam_change",
            "access",
            None,
        ),
        ("aws lambda delete-function --function-name f", "cloud.delete", "delete", None),
        (
            "aws s3api put-bucket-acl --bucket b --acl public-read",
            "cloud.open_to_world",
            "access",
            None,
        ),
        (
            "gcloud compute instances delete vm-1 --zone us-east1-b",
            "cloud.terminate",
            "destroy",
            None,
        ),
        ("gcloud sql instances delete db-prod --quiet", "cloud.delete", "destroy", "production"),
        ("gcloud sql instances patch db --no-backup", "cloud.disable_backups", "config", None),
        (
            "gcloud compute firewall-rules create allow-ssh --allow tcp:22 "
            "--source-ranges=0.0.0.0/0",
            "cloud.open_to_world",
            "network",
            None,
        ),
        (
            "gcloud projects add-iam-policy-binding p --member user:a@b.c --role roles/owner",
            "cloud.iam_change",
            "access",
            None,
        ),
        ("gsutil -m rm -r gs://acme-data", "cloud.delete", "delete", None),
        ("az vm delete -g rg -n vm1 --yes", "cloud.terminate", "destroy", None),
        ("az group delete --name prod-rg --yes", "cloud.delete", "destroy", "production"),
        (
            "az network nsg rule create -g rg --nsg-name n -n r --priority 100 "
            "--source-address-prefixes '*' --destination-port-ranges 22",
            "cloud.open_to_world",
            "network",
            None,
        ),
    ],
)
def test_cli_operations(command: str, signal: str, effect: str, env: str | None) -> None:
    got = found(command)
    assert signal in got, got
    assert got[signal] == (effect, env)


@pytest.mark.parametrize(
    "command",
    [
        "kubectl get pods -A",
        "kubectl describe deploy api",
        "kubectl logs -f web-0",
        "kubectl delete pod web-0 --dry-run=client",
        "kubectl scale deploy/api --replicas=3",
        "helm list -A",
        "terraform plan",
        "terraform plan -destroy",
        "terraform init -upgrade",
        "terraform apply tfplan",
        "git push origin main",
        "git push -u origin feature",
        "git reset --soft HEAD~1",
        "git clean -n",
        "aws ec2 describe-instances",
        "aws s3 ls s3://bucket",
        "aws s3 rm s3://bucket/one-file.txt",
        "aws s3 cp a.txt s3://bucket/",
        "aws iam list-users",
        "aws ec2 authorize-security-group-ingress --group-id sg-1 --cidr 10.0.0.0/8",
        "gcloud compute instances list",
        "gcloud compute firewall-rules create internal --allow tcp:22 --source-ranges 10.0.0.0/8",
        "gsutil ls gs://bucket",
        "az vm list",
        "az group show -n prod-rg",
    ],
)
def test_read_only_cli_stays_quiet(command: str) -> None:
    assert found(command) == {}


@pytest.mark.parametrize(
    ("tool", "args", "signal"),
    [
        ("kubectl", {"args": ["delete", "pod", "x", "-n", "prod"]}, "k8s.delete"),
        ("kubectl", {"command": "delete ns payments"}, "k8s.delete_namespace"),
        ("run_kubectl", {"args": "scale deploy api --replicas=0"}, "k8s.scale_to_zero"),
        ("kubectl", {"args": ["kubectl", "delete", "pod", "x"]}, "k8s.delete"),
        ("terraform", {"args": ["destroy", "-auto-approve"]}, "terraform.destroy"),
        ("aws_cli", {"command": "ec2 terminate-instances --instance-ids i-1"}, "cloud.terminate"),
        ("git", {"args": ["push", "--force"]}, "git.force_push"),
        ("postgres_query", {"command": "-c 'DROP TABLE x'"}, "sql.drop"),
        ("run_sql", {"command": "DROP TABLE x"}, "sql.drop"),  # a database tool given bare SQL
        ("mysql", {"args": ["-e", "DROP DATABASE x"]}, "sql.drop"),
        ("db", {"input": "TRUNCATE audit"}, "sql.truncate"),
    ],
)
def test_tool_name_tells_which_cli_the_argv_belongs_to(
    tool: str, args: dict[str, object], signal: str
) -> None:
    assert signal in {f.signal for f in analyze(tool, args)}


def test_tool_name_alone_is_not_a_finding() -> None:
    assert analyze("kubectl_delete", {"name": "web-0"}) == ()
    assert analyze("kubectl", {"args": ["get", "pods"]}) == ()


@pytest.mark.parametrize(
    "command",
    [
        # Unseen phrasings: flag order, `=` forms, clusters, case, wrappers, chains.
        "kubectl delete -n prod --context prod-cluster pod/api-7c9",
        "kubectl --namespace=prod delete pods,services -l app=api",
        "KUBECONFIG=~/.kube/prod kubectl delete deployment api",
        "sudo -E kubectl delete pod x",
        "cd infra && kubectl delete -f ./manifests/",
        "bash -c 'kubectl delete pod x'",
        "kubectl config use-context prod && kubectl delete pod x",
    ],
)
def test_unseen_phrasings_of_kubectl_delete(command: str) -> None:
    assert "k8s.delete" in found(command)


def test_environment_carries_across_a_chain() -> None:
    assert found("kubectl config use-context prod-eu && kubectl delete pod x")["k8s.delete"] == (
        "delete",
        "production",
    )
    assert found("terraform workspace select staging && terraform destroy")[
        "terraform.destroy"
    ] == ("destroy", "staging")
    assert found("export AWS_PROFILE=prod; aws ec2 terminate-instances --instance-ids i-1")[
        "cloud.terminate"
    ] == ("destroy", "production")
    assert found("cd envs/production && terraform destroy -auto-approve")["terraform.destroy"] == (
        "destroy",
        "production",
    )


def test_unrecognised_explicit_names_are_kept_raw() -> None:
    assert found("kubectl --context acme-eu1 delete pod x")["k8s.delete"][1] == "acme-eu1"
    assert found("aws --profile blue ec2 delete-volume --volume-id v")["cloud.delete"][1] == "blue"
    assert found("kubectl -n billing delete pod x")["k8s.delete"][1] is None  # namespace only


def test_kubectl_exec_runs_the_inner_command_in_that_cluster() -> None:
    got = found("kubectl --context prod exec -it db-0 -- psql -c 'DROP DATABASE app'")
    assert got == {"sql.drop": ("destroy", "production")}


def test_terraform_plan_output_with_deletions() -> None:
    plan = (
        "  # aws_db_instance.main will be destroyed\n"
        "  # aws_instance.web must be replaced\n"
        "Plan: 1 to add, 0 to change, 2 to destroy.\n"
    )
    (f,) = analyze("terraform_plan", {"plan_output": plan})
    assert f.signal == "terraform.apply_with_deletions"
    assert "aws_db_instance.main" in f.text
    assert analyze("terraform_plan", {"plan": "Plan: 3 to add, 1 to change, 0 to destroy."}) == ()
    assert (
        analyze("t", {"stdout": "No changes. Your infrastructure matches the configuration."}) == ()
    )


def test_sql_words_that_are_also_programs_are_sql_for_a_database_tool() -> None:
    assert {f.signal for f in analyze("db", {"args": ["TRUNCATE", "audit"]})} == {"sql.truncate"}
    assert analyze("shell", {"command": "truncate audit"}) == ()  # a program without -s 0
