"""The local model library: model IDs from file names (`ids`), the models folder as a
list of models (`inventory`) and what `llmctl rm` removes (`removal`)."""
