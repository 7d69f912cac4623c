"""OCI registries: a version published as one artifact, and read back without git.

A way out of the registry (DESIGN.md, "OCI registries"): ``modelreg publish`` pushes
one version's files to any registry that speaks the distribution API (the reference
server, Harbor, GHCR) as an artifact that KitOps reads as a ModelKit and ORAS reads
file by file; ``modelreg get oci://...`` pulls it back, verified, into a folder. Git
stays the truth: where a version went is a git note on its commit
(``ops/publish.py``), never a new kind of tag.

Parts, each usable alone:

- ``reference.py``: ``oci://HOST[:PORT]/REPOSITORY[:TAG|@DIGEST]`` (pure);
- ``auth.py``: credentials (``MODELREG_OCI_USERNAME``/``PASSWORD``, else
  ``~/.docker/config.json``) and the ``WWW-Authenticate`` challenge (pure);
- ``client.py``: the distribution API over ``http.client`` (blobs: HEAD, monolithic
  or chunked upload, streamed GET; manifests; Basic and Bearer-token auth);
- ``artifact.py``: the ModelKit-shaped manifest and Kitfile config (pure);
- ``pull.py``: fetch an artifact, verify every digest, write the files.

No third-party HTTP library: ``http.client`` streams a 1 GiB body from a file with a
large block size, and ``modelreg --help`` never imports any of this.
"""
