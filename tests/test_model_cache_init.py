import importlib.util

from tests.helpers import REPO

spec = importlib.util.spec_from_file_location("model_cache_init", REPO / "model_cache_init.py")
model_cache_init = importlib.util.module_from_spec(spec)
spec.loader.exec_module(model_cache_init)


def test_restores_missing_and_changed_files_from_s3(s3_storage, tmp_path):
    s3_storage.put_bytes("models/f5/model.pt", b"weights")
    s3_storage.put_bytes("models/f5/vocab.txt", b"a\nb\n")
    dest = tmp_path / "models"
    assert model_cache_init.restore_models(s3_storage, dest) == ["models/f5/model.pt", "models/f5/vocab.txt"]
    assert (dest / "f5" / "model.pt").read_bytes() == b"weights"
    assert model_cache_init.restore_models(s3_storage, dest) == []  # nothing to do the second time
    (dest / "f5" / "vocab.txt").write_bytes(b"truncated")
    assert model_cache_init.restore_models(s3_storage, dest) == ["models/f5/vocab.txt"]
    assert (dest / "f5" / "vocab.txt").read_bytes() == b"a\nb\n"
