"""The contract between evalkit and its users: the codebook (schema), the input files
(data), the model-formula grammar, where files live (paths), errors and privacy masking.
Everything else builds on this layer; it imports nothing else from evalkit.
"""
