from main import summarize


def test_counts_levels():
    result = summarize(["INFO a", "ERROR b", "ERROR b"])
    assert result["levels"] == {"INFO": 1, "WARN": 0, "ERROR": 2}
    assert result["top"][0] == ("b", 2)


if __name__ == "__main__":
    test_counts_levels()
    print("ok")
