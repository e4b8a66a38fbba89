"""A causal LM as an in-process policy (the :class:`mlagent_env.agents.Policy` protocol).

    policy = TransformersPolicy("runs/sft/final", max_new_tokens=1024)
    result = run_episode(gym.make("mlagent/digits"), policy, seed=0)

The messages the env gives are rendered with the model's own chat template
(``apply_chat_template(..., add_generation_prompt=True)``), the model generates, and the new
tokens are decoded (special tokens dropped). Generation stops at the tokenizer's end of sequence
and at ``<|im_end|>`` when the vocabulary has it (base Qwen models end a turn with it but their
``eos_token`` is ``<|endoftext|>``). One instance plays one episode at a time.
"""

from __future__ import annotations

from typing import Any

from mlagent_env.agents import PolicyError


class TransformersPolicy:
    def __init__(
        self,
        model_path: str,
        *,
        max_new_tokens: int = 2048,
        temperature: float = 0.7,
        top_p: float = 1.0,
        do_sample: bool | None = None,
        device: str | None = None,
        dtype: str = "auto",
        max_prompt_tokens: int | None = None,
        chat_template: str | None = None,
        model: Any = None,
        tokenizer: Any = None,
    ) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.model_path = model_path
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer = tokenizer if tokenizer is not None else AutoTokenizer.from_pretrained(model_path)
        if chat_template is not None:
            self.tokenizer.chat_template = chat_template
        if getattr(self.tokenizer, "chat_template", None) is None:
            raise PolicyError(f"{model_path} has no chat template; pass chat_template=... (e.g. ChatML)")
        if model is None:
            torch_dtype: Any = dtype
            if dtype == "auto" and self.device == "cpu":
                torch_dtype = torch.float32
            elif dtype != "auto":
                torch_dtype = getattr(torch, dtype)
            model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch_dtype)
            model = model.to(self.device)
        self.model = model.eval()
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.top_p = top_p
        self.do_sample = temperature > 0 if do_sample is None else do_sample
        self.max_prompt_tokens = max_prompt_tokens
        eos = {self.tokenizer.eos_token_id}
        im_end = self.tokenizer.convert_tokens_to_ids("<|im_end|>")
        if isinstance(im_end, int) and im_end != self.tokenizer.unk_token_id:
            eos.add(im_end)
        self.eos_token_ids = sorted(i for i in eos if i is not None)
        self._seed: int | None = None
        self._calls = 0
        self._last: dict[str, int] = {}

    def reset(self, task_id: str, seed: int | None = None) -> None:
        self._seed = seed
        self._calls = 0

    def act(self, messages: list[dict[str, str]], info: dict[str, Any]) -> str:
        torch = self.torch
        enc: Any = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                                 return_dict=True, return_tensors="pt")
        input_ids = enc["input_ids"]
        if self.max_prompt_tokens is not None and input_ids.shape[1] > self.max_prompt_tokens:
            raise PolicyError(f"the prompt has {input_ids.shape[1]} tokens, more than max_prompt_tokens={self.max_prompt_tokens}")
        input_ids = input_ids.to(self.device)
        attention_mask = enc.get("attention_mask")
        attention_mask = torch.ones_like(input_ids) if attention_mask is None else attention_mask.to(self.device)
        if self._seed is not None:  # reproducible sampling per episode and step
            torch.manual_seed(self._seed * 10_007 + self._calls)
        self._calls += 1
        kwargs: dict[str, Any] = dict(max_new_tokens=self.max_new_tokens, do_sample=self.do_sample,
                                      eos_token_id=self.eos_token_ids,
                                      pad_token_id=self.tokenizer.pad_token_id or self.eos_token_ids[0])
        if self.do_sample:
            kwargs.update(temperature=self.temperature, top_p=self.top_p)
        with torch.no_grad():
            out = self.model.generate(input_ids=input_ids, attention_mask=attention_mask, **kwargs)
        new = out[0, input_ids.shape[1]:]
        self._last = {"prompt_tokens": int(input_ids.shape[1]), "completion_tokens": int(new.shape[0])}
        return str(self.tokenizer.decode(new, skip_special_tokens=True))

    def last_usage(self) -> dict[str, int]:
        """Token counts of the most recent reply (the trajectory log reads them)."""
        return dict(self._last)
