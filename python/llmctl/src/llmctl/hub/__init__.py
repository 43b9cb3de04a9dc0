"""The Hugging Face Hub: the HTTP client (`client`), which files make up a model
(`files`), resumable verified transfers (`transfer`, `hashing`), what a download
reports and how it is shown (`progress`), `download()` itself (`download`) and remote
GGUF headers read by HTTP Range (`headers`). Never imports llmctl.plan."""

# Range requests in flight at once when --connections is not given: at most 8
# (bench/download_throughput.py measured 8 against throttled connections), opened
# when the CPU has room (`connection_probe`). Here and not in `parallel`, so that
# `llmctl download --help` shows it without importing the transfer machinery.
DEFAULT_CONNECTIONS = 8
