"""SRL (GRPO with the step reward and dynamic sampling), the SFT baseline, and RLVR; thin layers over TRL."""
