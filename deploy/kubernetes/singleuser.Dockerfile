# Single-user image for Zero to JupyterHub: the course's venv with the pins of constraints.txt,
# the cnn-course kernel, nbgrader's extensions, bubblewrap for the grading sandbox.
#   docker build -f deploy/kubernetes/singleuser.Dockerfile -t cnn-course-singleuser .
# Not built by this project's tests (no container builds on its machines): see docs/jupyterhub.md.
FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends make bubblewrap git \
    && rm -rf /var/lib/apt/lists/*
COPY . /opt/cnn-course
WORKDIR /opt/cnn-course
RUN make setup && .venv/bin/python -m pip install --no-cache-dir -c constraints.txt jupyterhub \
    && useradd --create-home --uid 1000 jovyan
ENV PATH=/opt/cnn-course/.venv/bin:$PATH
USER jovyan
WORKDIR /home/jovyan
CMD ["jupyterhub-singleuser"]
