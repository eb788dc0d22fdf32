# swesrl environment layer: a venv with the repository's pinned dependencies, installed offline from
# wheels the host built into this context (the build runs with --network none).
FROM {base}
LABEL swesrl.kind="env" swesrl.key="{key}"
# PIP_USE_PEP517: editable installs of setup.py-only projects go through setuptools' build_editable;
# the legacy `setup.py develop` path of setuptools >= 80 shells out to an isolated (online) build.
# A repo pinning setuptools < 64 (no build_editable) needs `--no-use-pep517` in its install command.
ENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_USE_PEP517=1
COPY wheels /tmp/swesrl-wheels
RUN python3 -m venv /opt/venv \
 && if [ -d /usr/share/python-wheels ]; then /opt/venv/bin/python -m pip install --quiet --find-links /usr/share/python-wheels wheel; fi \
 {install}&& rm -rf /tmp/swesrl-wheels /root/.cache/pip
{setup}
