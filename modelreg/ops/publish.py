"""publish: one version, as an OCI artifact, to a registry; recorded in a git note.

The bytes come from :func:`~modelreg.ops.files.local_files` (verified against the
manifest's sha256 where they lie, fetched into the DVC cache first if need be), so
what reaches the registry is what was registered. Blobs go first, each skipped when
the registry has it, then the config, then the manifest under each tag. Only when
every tag is in place is a line per tag added to the git note on the version's
commit (``refs/notes/modelreg-oci``): a publication that fails part way records
nothing, and running it again resumes (blobs already there are skipped).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..errors import InvalidReferenceError
from ..faults import checkpoint
from ..refs import Ref
from ..results import Published

if TYPE_CHECKING:
    from ..registry import Registry


def publish(
    self: Registry,
    ref: str | Ref,
    target: str,
    *,
    tags: Sequence[str] = (),
    plain_http: bool = False,
) -> Published:
    """Push version ``ref`` to ``target`` (``oci://HOST[:PORT]/REPOSITORY[:TAG]``),
    tagged with the target's tag (default: the version) and every one of ``tags``."""
    from ..oci import artifact
    from ..oci.auth import find_credentials
    from ..oci.client import OciClient
    from ..oci.reference import TAG, parse_oci, publication_line, tag_for_version

    where = parse_oci(target)
    if where.digest:
        raise InvalidReferenceError(
            f"'{target}' names a digest; a publication needs a tag (or none: the version)"
        )
    info = self._version_with_manifest(ref)
    manifest = info.manifest
    assert manifest is not None
    wanted = [where.tag or tag_for_version(info.version), *tags]
    for tag in wanted:
        if not TAG.match(tag):
            raise InvalidReferenceError(
                f"'{tag}' is not a valid OCI tag (up to 128 of A-Z a-z 0-9 _ . -, "
                "not starting with . or -)"
            )
    wanted = list(dict.fromkeys(wanted))
    local = self.local_files(info.name + "@v" + info.version)
    layers = [artifact.Layer(f.path, f.size, f.sha256) for f in local.files]
    registration = info.author
    built = artifact.build(
        artifact.Provenance(
            name=info.name,
            version=info.version,
            commit=info.commit,
            tag=info.tag,
            manifest_sha256=info.manifest_sha256,
            registered_by=registration,
            created=manifest.created,
            description=manifest.description,
            license=manifest.license,
            author=manifest.author,
        ),
        layers,
    )
    client = OciClient(where, find_credentials(where.host), plain_http=plain_http, push=True)
    pushed = 0
    total = sum(f.size for f in local.files)
    try:
        with self.progress.task(f"publishing {info.name} v{info.version}", total) as task:
            for file in local.files:
                with open(file.local, "rb") as handle:
                    if client.push_file(f"sha256:{file.sha256}", file.size, handle, task.advance):
                        pushed += 1
                checkpoint("publish:after-blob")
        client.push_bytes(built.config_digest, built.config)
        for tag in wanted:
            client.put_manifest(tag, built.manifest)
    finally:
        client.close()
    references = tuple(str(where.with_tag(tag)) for tag in wanted)
    with self._locked():
        recorded = set(self.git.publications(info.commit))
        for tag in wanted:
            line = publication_line(where.with_tag(tag), built.digest)
            if line not in recorded:  # published again, unchanged: nothing new to say
                self.git.add_publication(info.commit, line)
    return Published(
        name=info.name,
        version=info.version,
        references=references,
        digest=built.digest,
        blobs_pushed=pushed,
        blobs_present=len(local.files) - pushed,
        size=total,
    )
