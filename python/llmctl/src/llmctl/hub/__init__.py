"""The Hugging Face Hub: the HTTP client (`client`), which files make up a model
(`files`), resumable verified transfers (`transfer`, `hashing`), what a download
reports and how it is shown (`progress`), `download()` itself (`download`) and remote
GGUF headers read by HTTP Range (`headers`). Never imports llmctl.plan."""
