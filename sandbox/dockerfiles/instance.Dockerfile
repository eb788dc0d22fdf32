# swesrl instance layer: the repository at /testbed, a git repo whose commit tagged swesrl-base is the
# task's base commit, installed into the environment's venv (the build runs with --network none).
FROM {env}
LABEL swesrl.kind="instance" swesrl.key="{key}" swesrl.parent="{env}"
COPY testbed /testbed
WORKDIR /testbed
{envs}
{install}
