"""mlagent_train: training LLM agents on mlagent_env tasks (exploration-enriched SFT, step-wise RL).

Install with the ``train`` extra: ``pip install "mlagent[train]"``.
"""

__version__ = "0.1.0"
