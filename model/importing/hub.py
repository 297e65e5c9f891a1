"""Where an import reads from: a local folder, or a Hugging Face hub model id fetched into the hub's own cache.

An id ("Helsinki-NLP/opus-mt-en-de") goes through `huggingface_hub.snapshot_download`, so the cache, HF_HOME,
HF_HUB_OFFLINE, tokens and progress bars behave as in every Hugging Face tool; only the files the importer reads are
fetched, and `pytorch_model.bin` only when the repository has no `model.safetensors`. A folder that exists wins over
an id spelled the same. Every problem is one `HubError` sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from model.core.tokenizer import TokenizerPair
from model.importing.hf import SPM_FILE, WEIGHT_FILES

# Everything `model.importing.hf` may read, by family; a repository's other files (TF, Rust, ONNX weights) stay away
IMPORT_FILES = (
    "config.json",
    "tokenizer_config.json",
    "tokenizer.json",
    *TokenizerPair.files,
    SPM_FILE,
    # decoder-only language models (model.importing.llm): the chat template, extra end-of-turn ids, weight shards
    "chat_template.jinja",
    "generation_config.json",
    "model.safetensors.index.json",
    "model-*-of-*.safetensors",
)


class HubError(ValueError):
    """A source that is neither a folder nor a model the hub (or its cache) has; the message says why."""


@dataclass(frozen=True)
class Source:
    text: str  # as the user typed it
    hub_id: str | None  # None: a local folder

    @property
    def name(self) -> str:
        """The model's name: the repository's for an id, the folder's otherwise."""
        return self.hub_id.split("/")[-1] if self.hub_id else Path(self.text).expanduser().resolve().name

    @property
    def local_folder(self) -> Path | None:
        return None if self.hub_id else Path(self.text).expanduser()


def parse_source(text: str) -> Source:
    """A path that exists is a folder; otherwise ORG/NAME is a hub id. Nothing is downloaded yet."""
    if Path(text).expanduser().exists():
        return Source(text, None)
    if text.count("/") == 1 and is_valid_id(text):  # a bare NAME is more likely a mistyped folder than a hub id
        return Source(text, text)
    raise HubError(
        f"{text} is neither a folder nor a Hugging Face model id (ORG/NAME, e.g. Helsinki-NLP/opus-mt-en-de)."
    )


def is_valid_id(text: str) -> bool:
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(text)
    except HFValidationError:
        return False
    return True


def resolve_source(source: str | Source) -> Path:
    """The folder to import: the local folder itself, or the id's snapshot in the hub cache (downloaded if needed)."""
    source = parse_source(source) if isinstance(source, str) else source
    return source.local_folder or download(source.hub_id)


def download(hub_id: str) -> Path:
    """The snapshot folder of `hub_id` holding the files the importer reads; the hub's progress bars show."""
    from huggingface_hub import constants, snapshot_download

    where = constants.HF_HUB_CACHE
    try:
        folder = Path(snapshot_download(hub_id, allow_patterns=[*IMPORT_FILES, WEIGHT_FILES[0]]))
        sharded = (folder / "model.safetensors.index.json").is_file()
        if not sharded and not (folder / WEIGHT_FILES[0]).is_file():  # an older repository: its .bin instead
            folder = Path(snapshot_download(hub_id, allow_patterns=[*IMPORT_FILES, WEIGHT_FILES[1]]))
    except Exception as exc:  # a network library's many error types, each said in one sentence
        raise HubError(download_failure(hub_id, exc, where, constants.is_offline_mode())) from None
    if not (folder / "config.json").is_file():  # the hub gives an empty snapshot when no file matched
        raise HubError(f"{hub_id} on the Hugging Face hub has no config.json: it is not a model Headlight can import.")
    return folder


def download_failure(hub_id: str, exc: Exception, cache: str, offline: bool) -> str:
    from huggingface_hub.errors import (
        GatedRepoError,
        IncompleteSnapshotError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
    )

    if isinstance(exc, IncompleteSnapshotError):
        return (
            f"{hub_id} is only partly in the Hugging Face cache ({cache}) and the hub cannot be reached: run the "
            "import once with the network to complete it."
        )
    if isinstance(exc, LocalEntryNotFoundError):
        if offline:
            return (
                f"{hub_id} is not in the Hugging Face cache ({cache}) and HF_HUB_OFFLINE is set: import it once with "
                "the network, or give a folder."
            )
        return f"{hub_id} is not in the Hugging Face cache ({cache}) and the hub cannot be reached."
    if isinstance(exc, GatedRepoError):
        return f"{hub_id} is gated: accept its terms on huggingface.co, then log in with `hf auth login`."
    if isinstance(exc, RepositoryNotFoundError):
        return (
            f"{hub_id} is neither a folder here nor a model on the Hugging Face hub (if it is private, log in with "
            "`hf auth login`)."
        )
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{hub_id} could not be downloaded from the Hugging Face hub ({detail})."
