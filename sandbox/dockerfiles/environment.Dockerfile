# swesrl environment layer: a venv with the repository's pinned dependencies. The first stage installs
# them offline (the build runs with --network none) from files the host downloaded for this Python;
# only the installed venv is copied into the image, so those files never reach one of its layers.
FROM {base} AS build
LABEL swesrl.build-stage-of="{key}"
ENV PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_NO_BUILD_ISOLATION=0
COPY wheels /tmp/swesrl-wheels
COPY requirements.txt /tmp/swesrl-requirements.txt
RUN python3 -m venv /opt/venv \
 && if [ -d /usr/share/python-wheels ]; then /opt/venv/bin/python -m pip install --quiet --find-links /usr/share/python-wheels wheel; fi \
 && /opt/venv/bin/python -m pip install --quiet --find-links /tmp/swesrl-wheels {tools} \
 && /opt/venv/bin/python -m pip install --quiet --find-links /tmp/swesrl-wheels -r /tmp/swesrl-requirements.txt \
 && cp /tmp/swesrl-requirements.txt /opt/venv/swesrl-requirements.txt \
 && real="$(readlink -f /opt/venv/bin/python)" && rm /opt/venv/bin/python /opt/venv/bin/python3 \
 && printf '#!/bin/bash\nexec -a /opt/venv/bin/python %s "$@"\n' "$real" > /opt/venv/bin/python \
 && chmod 755 /opt/venv/bin/python && ln -s python /opt/venv/bin/python3
# The venv's python is a wrapper that runs the interpreter with argv[0] set to /opt/venv/bin/python:
# Python finds its venv from argv[0], so a symlink to it (tox-current-env links .tox/*/bin/python to
# sys.executable, as sphinx's test command uses) still runs in the venv. A symlink to the usual
# symlink would resolve to /usr/bin and lose the venv; SWE-bench's conda env is a real prefix.

FROM {base}
LABEL {labels}
# PIP_NO_INDEX: installs in later layers (the repository's own) find everything already installed.
# PIP_NO_BUILD_ISOLATION=0 turns build isolation *off* (pip reads the variable as the option's value),
# so `pip install -e .` builds with the venv's setuptools instead of fetching one.
# PIP_USE_PEP517: editable installs of setup.py-only projects go through setuptools' build_editable;
# the legacy `setup.py develop` path of setuptools >= 80 shells out to an isolated (online) build.
ENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_USE_PEP517=1 PIP_NO_BUILD_ISOLATION=0
COPY --from=build /opt/venv /opt/venv
{setup}
