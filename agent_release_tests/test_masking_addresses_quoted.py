"""Addresses masked whole (issue 15): quoted e-mail replies ("> ", "> > " at each line start),
multi-line blocks, pasted form fields and inline addresses; every part — street, number,
postcode, town — inside a recognised span, and look-alikes left alone."""

from __future__ import annotations

import pytest

from agent_release.masking.addresses import AddressRecognizer


@pytest.fixture(scope="module")
def rec():
    return AddressRecognizer()


def _covered(rec, text: str) -> set[int]:
    cov: set[int] = set()
    for r in rec.analyze(text, ["STREET_ADDRESS"]):
        cov |= set(range(r.start, r.end))
    return cov


def assert_masked(rec, text: str, *parts: str) -> None:
    cov = _covered(rec, text)
    for part in parts:
        i = text.find(part)
        assert i >= 0, part
        left = [text[k] for k in range(i, i + len(part)) if k not in cov and not text[k].isspace()]
        assert not left, f"{part!r} not masked in {text!r}"


def assert_clear(rec, text: str) -> None:
    assert not rec.analyze(text, ["STREET_ADDRESS"]), text


def _quote(text: str, depth: int) -> str:
    return "\n".join("> " * depth + line if line else ">" * depth for line in text.split("\n"))


@pytest.mark.parametrize("depth", [1, 2])
def test_a_quoted_french_street_line_takes_the_postcode_and_town_line_after_it(rec, depth):
    text = "Le " + _quote("Adresse de livraison :\n85, rue de Weiss\n88637 Perez\n\nBien à vous,", depth)
    assert_masked(rec, text, "85, rue de Weiss", "88637", "Perez")


@pytest.mark.parametrize("depth", [1, 2])
def test_a_quoted_italian_address_keeps_postcode_town_and_province_masked(rec, depth):
    text = _quote("il mio indirizzo è\nStretto Liguori, 145\n38040 Capizzo (BO)\n\nGrazie,", depth)
    assert_masked(rec, text, "Stretto Liguori, 145", "38040", "Capizzo", "(BO)")


@pytest.mark.parametrize("depth", [1, 2])
def test_a_quoted_us_address_with_a_suite_line_is_masked_down_to_the_zip(rec, depth):
    text = _quote("Terry\nTel. (689) 353-4574\n73292 Daniel Brooks\nSuite 246\nNorth Andreborough, MO 65176", depth)
    assert_masked(rec, text, "73292 Daniel Brooks", "Suite 246", "North Andreborough", "65176")


@pytest.mark.parametrize("depth", [1, 2])
def test_a_quoted_swedish_address_keeps_the_spaced_postcode_masked(rec, depth):
    text = _quote("Skicka ersättningen till:\nTrädgårdstorget 3\n323 90 Trelleborg\n\nMvh", depth)
    assert_masked(rec, text, "Trädgårdstorget 3", "323 90", "Trelleborg")


def test_a_quote_prefix_without_space_between_the_markers_still_joins_the_lines(rec):
    text = ">> Avenida de Baltasar Cerro 95 Piso 9\n>> 38686 Ciudad Real"
    assert_masked(rec, text, "Avenida de Baltasar Cerro 95", "Piso 9", "38686", "Ciudad Real")


def test_a_quoted_spanish_address_keeps_the_town_masked(rec):
    text = "> cecilio@telefonica.net\n> Avenida de Baltasar Cerro 95 Piso 9\n> 38686 Ciudad"
    assert_masked(rec, text, "Avenida de Baltasar Cerro 95 Piso 9", "38686", "Ciudad")


def test_a_masked_quoted_address_does_not_end_on_the_quote_marker_of_the_next_line(rec):
    text = "> 85, rue de Weiss\n> 88637 Perez\n> \n> Bien à vous"
    spans = rec.analyze(text, ["STREET_ADDRESS"])
    assert spans and all(not text[r.start:r.end].rstrip().endswith(">") for r in spans)


def test_an_order_number_on_a_quoted_line_after_a_street_stays_clear(rec):
    text = "> 85, rue de Weiss\n> Commande 123456 expédiée"
    assert "123456" not in "".join(text[r.start:r.end] for r in rec.analyze(text, ["STREET_ADDRESS"]))


def test_a_quoted_amount_and_date_stay_clear(rec):
    assert_clear(rec, "> Le montant de 45,90 € a été débité\n> le 12/03/2025.")


def test_a_quoted_order_id_line_and_tracking_number_stay_clear(rec):
    assert_clear(rec, "> > Order 12345\n> > Tracking 1Z999AA10123456784 shipped 2 days ago")


@pytest.mark.parametrize("depth", [0, 1, 2])
def test_a_norwegian_street_without_a_known_street_word_is_masked_with_its_postcode_line(rec, depth):
    text = _quote("Tel. +47 97 89 16 18\nHolmtoppen 5B\n5225 Linestrand", depth)
    assert_masked(rec, text, "Holmtoppen 5B", "5225", "Linestrand")


@pytest.mark.parametrize("depth", [0, 1, 2])
def test_a_danish_two_word_street_and_its_postcode_line_are_masked(rec, depth):
    text = _quote("Send erstatningen til:\nSiam Allé 1\n4775 Jerslev\n\nTak,", depth)
    assert_masked(rec, text, "Siam Allé 1", "4775", "Jerslev")


@pytest.mark.parametrize("depth", [0, 1, 2])
def test_a_turkish_address_with_door_number_district_and_province_slash_is_masked(rec, depth):
    text = _quote("Değişim ürününü şu adrese gönderin:\nAkar Sokak No: 49 D: 25 Odunpazarı\n26025 Odunpazarı/Eskişehir\n", depth)
    assert_masked(rec, text, "Akar Sokak", "No: 49", "D: 25", "26025", "Odunpazarı/Eskişehir")


@pytest.mark.parametrize("depth", [0, 1, 2])
def test_a_mexican_town_ending_in_lower_case_words_is_masked_up_to_its_state(rec, depth):
    text = _quote("Dirección de entrega:\nAndador Farías 705 Interior 702\n28092-3570 San Jorge los altos, MOR\n", depth)
    assert_masked(rec, text, "Andador Farías 705", "Interior 702", "28092-3570", "San Jorge los altos", "MOR")


@pytest.mark.parametrize("depth", [0, 1, 2])
def test_a_brazilian_address_with_district_and_town_state_cep_line_is_masked(rec, depth):
    text = _quote("Endereço - \nVia Campos, 387 - Renascença\nCastro Grande - RS, 93877-237\n", depth)
    assert_masked(rec, text, "Via Campos, 387", "Renascença", "Castro Grande", "RS", "93877-237")


def test_a_dutch_quoted_address_after_a_compound_label_is_masked(rec):
    text = "> u kunt me bellen. Afleveradres:\n> Berendbaan 197\n> 9229 FN Zaamslag\n> \n> Verzonden"
    assert_masked(rec, text, "Berendbaan 197", "9229 FN", "Zaamslag")


def test_a_capitalised_word_and_number_without_a_postcode_after_it_stays_clear(rec):
    assert_clear(rec, "Bestellung 12345 ist unterwegs, Paket 3 von 4.")


def test_a_version_and_year_on_consecutive_lines_stay_clear(rec):
    assert_clear(rec, "Version 14\nAndroid 14.2 since 2024")


def test_a_product_name_with_a_model_number_stays_clear(rec):
    assert_clear(rec, "My Galaxy S23, 128 GB, bought for 899 EUR.")


@pytest.mark.parametrize("text, parts", [
    ("vivo en avenida de curro salvà 6 puerta 3, 32782 castellón",
     ("avenida de curro salvà 6", "puerta 3", "32782", "castellón")),
    ("jeg bor på mandalsvej 283, 3599 rønnede", ("mandalsvej 283", "3599", "rønnede")),
    ("het moet naar jaysonsteeg 265, 3072 qa rouveen", ("jaysonsteeg 265", "3072 qa", "rouveen")),
    ("leveransadressen är aspgatan 251, 607 39 norrköping", ("aspgatan 251", "607 39", "norrköping")),
    ("adres dostawy to aleja wczasowa 95, 34-685 kętrzyn", ("aleja wczasowa 95", "34-685", "kętrzyn")),
    ("teslimat adresi şener caddesi no:197/6, 34710 kadıköy/istanbul",
     ("şener caddesi", "no:197/6", "34710", "kadıköy/istanbul")),
    ("i live at 8666 king turnpike apt. 140, fuentesshire, mt 59457",
     ("8666 king turnpike", "apt. 140", "fuentesshire", "mt 59457")),
    ("abito in borgo monica, 25, 13891 cazzano di tramigna (bo)",
     ("borgo monica, 25", "13891", "cazzano di tramigna", "(bo)")),
])
def test_an_address_typed_in_lower_case_is_masked_down_to_its_town(rec, text, parts):
    assert_masked(rec, text, *parts)


def test_a_lower_case_town_does_not_take_the_verb_after_it(rec):
    text = "es soll an bärergasse 46/22, 13427 calw gehen"
    assert_masked(rec, text, "bärergasse 46/22", "13427", "calw")
    assert all("gehen" not in text[r.start:r.end] for r in rec.analyze(text, ["STREET_ADDRESS"]))


def test_a_count_and_a_year_in_lower_case_stay_clear(rec):
    assert_clear(rec, "it took 3 days, 2024 was a bad year for deliveries")


def test_a_page_number_and_an_amount_in_lower_case_stay_clear(rec):
    assert_clear(rec, "see page 12, 4500 euros were charged twice")


@pytest.mark.parametrize("text, parts", [
    ("Name: Jan\nAddress: 12 High Street\nPostcode: SW1A 1AA\nCity: London\nPhone: 0123",
     ("12 High Street", "SW1A 1AA", "London")),
    ("Dirección: Calle Mayor 12\nCódigo postal: 28013\nCiudad: Madrid", ("Calle Mayor 12", "28013", "Madrid")),
    ("Adresse : 12 rue de la Paix\nCode postal : 75002\nVille : Paris", ("12 rue de la Paix", "75002", "Paris")),
    ("Straße: Hauptstraße 5\nPLZ: 10115\nOrt: Berlin", ("Hauptstraße 5", "10115", "Berlin")),
    ("Endereço: Rua Augusta, 1500\nCEP: 01305-100\nCidade: São Paulo", ("Rua Augusta, 1500", "01305-100", "São Paulo")),
    ("Indirizzo: Via Roma 12\nCAP: 00184\nCittà: Roma", ("Via Roma 12", "00184", "Roma")),
    ("Adres: Kerkstraat 12\nPostcode: 1234 AB\nPlaats: Amsterdam", ("Kerkstraat 12", "1234 AB", "Amsterdam")),
    ("Adres: ul. Długa 5/3\nKod pocztowy: 00-238\nMiejscowość: Warszawa", ("ul. Długa 5/3", "00-238", "Warszawa")),
    ("Adress: Storgatan 1\nPostnummer: 111 22\nOrt: Stockholm", ("Storgatan 1", "111 22", "Stockholm")),
])
def test_a_pasted_form_block_masks_the_value_after_each_address_postcode_and_town_label(rec, text, parts):
    assert_masked(rec, text, *parts)


@pytest.mark.parametrize("depth", [0, 1, 2])
def test_a_form_address_value_on_the_lines_after_an_empty_label_is_masked(rec, depth):
    text = _quote("E-mail - x@y.dk\nAdresse - \nEmdrup Kærstræde 253\n9883 Rødekro\nFødselsdato - 1953-11-04", depth)
    assert_masked(rec, text, "Emdrup Kærstræde 253", "9883", "Rødekro")
    assert all("1953" not in text[r.start:r.end] for r in rec.analyze(text, ["STREET_ADDRESS"]))


def test_an_email_address_and_ip_address_label_are_no_postal_address(rec):
    assert_clear(rec, "E-mail address: anna@example.com\nIP address: 10.0.0.1")


def test_an_order_and_amount_form_block_stays_clear(rec):
    assert_clear(rec, "Order: 12345\nTotal: 45,90 €\nDate: 12/03/2025\nProduct: Galaxy S23 128 GB")


def test_an_inline_address_label_value_stops_at_the_end_of_its_sentence(rec):
    text = "Danke. Anschrift: Hauptstr. 5, 10115 Berlin. Bitte schnell liefern"
    assert_masked(rec, text, "Hauptstr. 5", "10115", "Berlin")
    assert all("liefern" not in text[r.start:r.end] for r in rec.analyze(text, ["STREET_ADDRESS"]))


@pytest.mark.parametrize("text, parts", [
    ("neue adresse:\nsusana-martin-straße 6/1\n69607 stuttgart", ("susana-martin-straße 6/1", "69607", "stuttgart")),
    ("uusi osoite:\norapihlajapolku 41\n74727 laihia", ("orapihlajapolku 41", "74727", "laihia")),
    ("jeg bor på himmerlands allé 814, 4876 maribo", ("himmerlands allé 814", "4876", "maribo")),
    ("osoitteeni on\nBirger Kaipiaisen tie 599\n60141 Koski Tl. syntymäaikani on", ("Birger Kaipiaisen tie 599", "60141", "Koski Tl")),
])
def test_a_lower_case_or_separate_word_street_on_its_own_line_takes_the_postcode_line(rec, text, parts):
    assert_masked(rec, text, *parts)


def test_a_british_address_after_a_studio_unit_without_a_known_street_word_is_masked(rec):
    text = "it should go to Studio 14A 159 Fletcher Ginnel, Thompsonhaven, G7F 0FP instead."
    assert_masked(rec, text, "159 Fletcher Ginnel", "Thompsonhaven", "G7F 0FP")


def test_an_italian_town_of_five_words_is_masked_whole(rec):
    text = "abito in Piazza Ariasso, 6, 40012 Ricco' Del Golfo Di Spezia (VE)\n\nGrazie,"
    assert_masked(rec, text, "Piazza Ariasso, 6", "40012", "Ricco' Del Golfo Di Spezia", "(VE)")


def test_a_brazilian_town_of_four_words_before_its_state_and_cep_is_masked(rec):
    text = "deveria ir para Estrada Albuquerque, 94 - Jaraguá, da Rosa da Serra - PE, 85308-826. O pedido #870890 saiu"
    assert_masked(rec, text, "Estrada Albuquerque, 94", "Jaraguá", "da Rosa da Serra", "PE", "85308-826")
    assert all("870890" not in text[r.start:r.end] for r in rec.analyze(text, ["STREET_ADDRESS"]))


def _masked_text(rec, text: str) -> str:
    return " ".join(text[r.start:r.end] for r in rec.analyze(text, ["STREET_ADDRESS"]))


def test_a_town_does_not_run_on_into_the_next_sentence_after_its_full_stop(rec):
    text = "Die Lieferung geht an Matthäiweg 983, 97938 Ludwigslust. Aktualisieren Sie bitte die App"
    assert_masked(rec, text, "Matthäiweg 983", "97938", "Ludwigslust")
    assert "Aktualisieren" not in _masked_text(rec, text)


def test_a_capitalised_town_does_not_take_the_lower_case_verb_after_it(rec):
    text = "Das Paket wird an Matthäiweg 983, 97938 Ludwigslust umgeleitet"
    assert_masked(rec, text, "Matthäiweg 983", "97938", "Ludwigslust")
    assert "umgeleitet" not in _masked_text(rec, text)


def test_the_common_word_before_a_street_of_any_name_stays_clear(rec):
    text = "jeg bor på himmerlands allé 814, 4876 maribo"
    assert "på" not in _masked_text(rec, text).split()


def test_a_form_value_does_not_take_the_next_lower_case_line(rec):
    text = "Adress:\nFabriksvägen 568\n796 16 Nyköping\nfödd 17 januari 1973, personnummer: 970421-3058"
    assert_masked(rec, text, "Fabriksvägen 568", "796 16", "Nyköping")
    assert "januari" not in _masked_text(rec, text)


@pytest.mark.parametrize("text, parts", [
    ("le colis doit aller 134 boulevard jules petit, 77488 daviddan",
     ("134 boulevard jules petit", "77488", "daviddan")),
    ("paczka ma iść na al. polna 888, 57-113 warszawa", ("al. polna 888", "57-113", "warszawa")),
    ("i live at flat 5, taylor stravenue, lake susan ts65 2fs", ("flat 5", "taylor stravenue", "lake susan", "ts65 2fs")),
    ("debería ir a vial lorenza marco 71, 05068 vizcaya", ("vial lorenza marco 71", "05068", "vizcaya")),
    ("adresim alemdar sokak no: 105 d: 9 seyhan, 01005 seyhan/adana",
     ("alemdar sokak", "no: 105", "d: 9", "01005", "seyhan/adana")),
    ("> > Telefon: 0549 885 76 41\n> > Gül Caddesi No:222/18, 16115 Nilüfer/Bursa",
     ("Gül Caddesi", "No:222/18", "16115", "Nilüfer/Bursa")),
])
def test_an_inline_address_is_masked_from_its_first_street_word_to_its_town(rec, text, parts):
    assert_masked(rec, text, *parts)
