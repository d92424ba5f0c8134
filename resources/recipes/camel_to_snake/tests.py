def test_camel_and_pascal():
    assert camel_to_snake("camelCase") == "camel_case"
    assert camel_to_snake("PascalCaseName") == "pascal_case_name"


def test_acronyms():
    assert camel_to_snake("HTTPServer") == "http_server"
    assert camel_to_snake("getHTTPResponseCode") == "get_http_response_code"
    assert camel_to_snake("parseURL") == "parse_url"


def test_empty_single_and_already_snake():
    assert camel_to_snake("") == ""
    assert camel_to_snake("x") == "x"
    assert camel_to_snake("X") == "x"
    assert camel_to_snake("already_snake_case") == "already_snake_case"


def test_digits():
    assert camel_to_snake("version2Update") == "version2_update"
    assert camel_to_snake("utf8Decoder") == "utf8_decoder"


def test_existing_underscores_not_doubled():
    assert camel_to_snake("snake_Case") == "snake_case"
    assert camel_to_snake("_privateName") == "_private_name"


def test_unicode_letters():
    assert camel_to_snake("straßeÜberweg") == "straße_überweg"
    assert camel_to_snake("ÄpfelBirnen") == "äpfel_birnen"
