"""Recommenders that answer text prompts with lists (LLMs), and their fairness audit.

Nothing here imports an LLM library at import time: the OpenAI-compatible client
(``pip install 'equirec[llm]'``) and Hugging Face transformers (``pip install 'equirec[text]'``)
are imported when a provider first answers.

- :mod:`equirec.llm.providers`: an OpenAI-compatible endpoint, a local transformers model
  folder, or any Python callable, behind one ``complete(prompt) -> str``;
- :mod:`equirec.llm.cache`: every answer stored by (provider, prompt), so that re-scoring is
  exact and free;
- :mod:`equirec.llm.titles`: the titles of an answer parsed and matched to catalogue ids;
- :mod:`equirec.llm.fairllm`: the FaiRLLM protocol (neutral against sensitive requests).
"""
