// JSONTestSuite-style cases (after Nicolas Seriot's naming): `y_` must parse, `n_` must fail,
// `i_` are implementation-defined and carry the choice this reader makes.

/// A piece of a test document: text, or raw bytes for UTF-8 cases text cannot hold.
protocol DocumentPart {
    var partBytes: [UInt8] { get }
}

extension String: DocumentPart {
    var partBytes: [UInt8] { Array(utf8) }
}

extension Array: DocumentPart where Element == UInt8 {
    var partBytes: [UInt8] { self }
}

struct ConformanceCase: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]

    init(_ name: String, _ parts: any DocumentPart...) {
        self.name = name
        self.bytes = parts.flatMap(\.partBytes)
    }

    var testDescription: String { name }
}

import Testing

func nested(_ open: String, _ close: String, depth: Int) -> String {
    String(repeating: open, count: depth) + String(repeating: close, count: depth)
}

let acceptCases: [ConformanceCase] = [
    // Structure
    .init("y_structure_empty_object", "{}"),
    .init("y_structure_empty_array", "[]"),
    .init("y_structure_all_four_whitespace", " \t\n\r[ \t\n\r1 \t\n\r, \t\n\r2] \t\n\r"),
    .init("y_structure_top_level_string", "\"x\""),
    .init("y_structure_top_level_number", "42"),
    .init("y_structure_top_level_true", "true"),
    .init("y_structure_top_level_false", "false"),
    .init("y_structure_top_level_null", "null"),
    .init("y_structure_top_level_number_with_whitespace", " 7 "),
    .init("y_structure_nested_arrays", "[[[[]]]]"),
    .init("y_structure_nested_objects", #"{"a":{"b":{"c":{}}}}"#),
    .init("y_structure_mixed", #"{"a":[1,{"b":null},"c"],"d":true}"#),
    .init("y_structure_depth_64_arrays", nested("[", "]", depth: 64)),
    .init("y_structure_depth_64_objects", String(repeating: #"{"a":"#, count: 63) + "{}" + String(repeating: "}", count: 63)),
    .init("y_object_simple", #"{"a":"b"}"#),
    .init("y_object_many_members", #"{"a":1,"b":2,"c":3}"#),
    .init("y_object_empty_key", #"{"":0}"#),
    .init("y_object_escaped_key", #"{"\u0061\"":1}"#),
    .init("y_object_whitespace_everywhere", "{ \"a\" : 1 , \"b\"\n:\n2 }"),
    .init("y_object_long_key", "{\"" + String(repeating: "k", count: 300) + "\":1}"),
    .init("y_object_keys_differ_in_case", #"{"a":1,"A":2}"#),
    .init("y_object_utf8_key", #"{"ключ":"значение"}"#),
    .init("y_object_nested_array_value", #"{"a":[[],[{}]]}"#),
    .init("y_array_heterogeneous", #"[1,"a",true,false,null,{},[]]"#),
    .init("y_array_spaces", "[ 1 , 2 ]"),
    .init("y_array_nested_empties", "[[],[[]],{}]"),
    .init("y_array_empty_strings", #"["",""]"#),
    .init("y_array_many_elements", "[" + (0..<500).map(String.init).joined(separator: ",") + "]"),
    // Literals
    .init("y_literal_true", "[true]"),
    .init("y_literal_false", "[false]"),
    .init("y_literal_null", "[null]"),
    .init("y_literal_all_in_object", #"{"t":true,"f":false,"n":null}"#),
    // Numbers
    .init("y_number_zero", "[0]"),
    .init("y_number_negative_zero", "[-0]"),
    .init("y_number_integer", "[123]"),
    .init("y_number_negative_integer", "[-123]"),
    .init("y_number_fraction", "[1.5]"),
    .init("y_number_zero_fraction", "[0.5]"),
    .init("y_number_negative_zero_fraction", "[-0.0]"),
    .init("y_number_exponent_e", "[1e10]"),
    .init("y_number_exponent_E", "[1E10]"),
    .init("y_number_exponent_plus", "[1e+2]"),
    .init("y_number_exponent_minus", "[1e-2]"),
    .init("y_number_exponent_leading_zeros", "[1e007]"),
    .init("y_number_zero_exponent", "[0e1]"),
    .init("y_number_fraction_exponent", "[1.25e3]"),
    .init("y_number_negative_fraction_exponent", "[-0.5E-3]"),
    .init("y_number_int64_max", "[9223372036854775807]"),
    .init("y_number_int64_min", "[-9223372036854775808]"),
    .init("y_number_long_fraction", "[0.1000000000000000055511151231257827]"),
    .init("y_number_double_max", "[1.7976931348623157e308]"),
    .init("y_number_smallest_subnormal", "[5e-324]"),
    .init("y_number_close_to_zero", "[-0.000000000000000000000000000000000000000001]"),
    .init("y_number_real", "[123.456789]"),
    .init("y_number_epoch_ms", "[1764166742123]"),
    .init("y_number_after_space", "[ 4]"),
    .init("y_number_in_object", #"{"ts":1700000000000,"d":12.5}"#),
    // Strings
    .init("y_string_empty", #"[""]"#),
    .init("y_string_ascii", #"["hello, world"]"#),
    .init("y_string_all_simple_escapes", #"["\"\\\/\b\f\n\r\t"]"#),
    .init("y_string_u_escape_ascii", #"["\u0041"]"#),
    .init("y_string_u_escape_lowercase_hex", #"["\u00e9"]"#),
    .init("y_string_u_escape_uppercase_hex", #"["\u00E9"]"#),
    .init("y_string_u_escape_nul", #"["a\u0000b"]"#),
    .init("y_string_u_escape_three_bytes", #"["\u20AC"]"#),
    .init("y_string_u_escape_2028", #"["\u2028\u2029"]"#),
    .init("y_string_surrogate_pair", #"["\uD83D\uDE00"]"#),
    .init("y_string_surrogate_pair_lowercase", #"["\ud834\udd1e"]"#),
    .init("y_string_two_surrogate_pairs", #"["\uD83D\uDE00\uD83D\uDE01"]"#),
    .init("y_string_surrogate_pair_max", #"["\uDBFF\uDFFF"]"#),
    .init("y_string_escaped_backslash_then_u", #"["\\u0041"]"#),
    .init("y_string_escaped_slash", #"["\/"]"#),
    .init("y_string_utf8_two_bytes", "[\"é\"]"),
    .init("y_string_utf8_three_bytes", "[\"€\"]"),
    .init("y_string_utf8_four_bytes", "[\"𝄞\"]"),
    .init("y_string_utf8_emoji", "[\"😀👍🏽\"]"),
    .init("y_string_utf8_cjk", "[\"日本語\"]"),
    .init("y_string_utf8_max_scalar", "[\"", [0xF4, 0x8F, 0xBF, 0xBF], "\"]"),
    .init("y_string_utf8_before_surrogates", "[\"", [0xED, 0x9F, 0xBF], "\"]"),
    .init("y_string_utf8_after_surrogates", "[\"", [0xEE, 0x80, 0x80], "\"]"),
    .init("y_string_utf8_smallest_two_byte", "[\"", [0xC2, 0x80], "\"]"),
    .init("y_string_utf8_smallest_three_byte", "[\"", [0xE0, 0xA0, 0x80], "\"]"),
    .init("y_string_utf8_smallest_four_byte", "[\"", [0xF0, 0x90, 0x80, 0x80], "\"]"),
    .init("y_string_raw_del", "[\"", [0x7F], "\"]"),
    .init("y_string_raw_line_separator", "[\"", [0xE2, 0x80, 0xA8], "\"]"),
    .init("y_string_bom_inside", "[\"", [0xEF, 0xBB, 0xBF], "\"]"),
    .init("y_string_comment_like", #"["/* not a comment */ // neither"]"#),
    .init("y_string_long", "[\"" + String(repeating: "abcdefghij", count: 1000) + "\"]"),
    .init("y_string_mixed_escapes_and_utf8", #"["a\nb é \u00e9 \uD83D\uDE00 z"]"#),
    .init("y_string_only_escapes", #"["\n\n\n\n\n\n\n\n\n\n"]"#),
    .init("y_string_quote_at_word_boundary", #"["1234567\"12345678"]"#),
]

let rejectCases: [ConformanceCase] = [
    // Structure
    .init("n_structure_empty_input", ""),
    .init("n_structure_only_whitespace", " \n\t "),
    .init("n_structure_unclosed_array", "[1"),
    .init("n_structure_unclosed_empty_array", "["),
    .init("n_structure_unclosed_object", #"{"a":1"#),
    .init("n_structure_unclosed_empty_object", "{"),
    .init("n_structure_unclosed_nested", "[[[]"),
    .init("n_structure_trailing_comma_array", "[1,]"),
    .init("n_structure_trailing_comma_object", #"{"a":1,}"#),
    .init("n_structure_leading_comma_array", "[,1]"),
    .init("n_structure_only_comma_array", "[,]"),
    .init("n_structure_only_comma_object", "{,}"),
    .init("n_structure_double_comma", "[1,,2]"),
    .init("n_structure_missing_comma", "[1 2]"),
    .init("n_structure_missing_comma_object", #"{"a":1 "b":2}"#),
    .init("n_structure_object_missing_colon", #"{"a" 1}"#),
    .init("n_structure_object_missing_value", #"{"a":}"#),
    .init("n_structure_object_missing_key", #"{:1}"#),
    .init("n_structure_object_comma_for_colon", #"{"a",1}"#),
    .init("n_structure_object_double_colon", #"{"a"::1}"#),
    .init("n_structure_object_unquoted_key", "{a:1}"),
    .init("n_structure_object_single_quoted_key", "{'a':1}"),
    .init("n_structure_object_number_key", "{1:1}"),
    .init("n_structure_object_unclosed_key", #"{"a"#),
    .init("n_structure_colon_in_array", "[1:2]"),
    .init("n_structure_array_closed_by_brace", "[}"),
    .init("n_structure_object_closed_by_bracket", #"{"a":1]"#),
    .init("n_structure_extra_close", "[]]"),
    .init("n_structure_two_values", "[] []"),
    .init("n_structure_trailing_garbage", "{}x"),
    .init("n_structure_lone_colon", ":"),
    .init("n_structure_lone_comma", ","),
    .init("n_structure_angle_brackets", "<1>"),
    .init("n_structure_line_comment", "[1]//c"),
    .init("n_structure_line_comment_inside", "[1 // c\n]"),
    .init("n_structure_block_comment", "[/* c */1]"),
    .init("n_structure_hash_comment", "# c\n[1]"),
    .init("n_structure_single_quoted_string", "['a']"),
    .init("n_structure_nul_after_value", "[1]", [0x00]),
    .init("n_structure_formfeed_is_not_whitespace", "[", [0x0C], "1]"),
    .init("n_structure_vertical_tab_is_not_whitespace", "[", [0x0B], "1]"),
    .init("n_structure_nbsp_is_not_whitespace", "[", [0xC2, 0xA0], "1]"),
    .init("n_structure_line_separator_is_not_whitespace", "[", [0xE2, 0x80, 0xA8], "1]"),
    .init("n_structure_too_deep_arrays", nested("[", "]", depth: 65)),
    .init("n_structure_too_deep_objects", String(repeating: #"{"a":"#, count: 64) + "{}" + String(repeating: "}", count: 64)),
    .init("n_structure_unquoted_value", "[abc]"),
    // Literals
    .init("n_literal_capital_true", "[True]"),
    .init("n_literal_capital_null", "[NULL]"),
    .init("n_literal_truncated_true", "[tru]"),
    .init("n_literal_truncated_null_at_end", "[nul"),
    .init("n_literal_truncated_false", "[f]"),
    .init("n_literal_extra_letter", "[truex]"),
    .init("n_literal_extra_l", "[nulll]"),
    .init("n_literal_nan", "[NaN]"),
    .init("n_literal_infinity", "[Infinity]"),
    .init("n_literal_negative_infinity", "[-Infinity]"),
    .init("n_literal_undefined", "[undefined]"),
    // Numbers
    .init("n_number_leading_zero", "[01]"),
    .init("n_number_double_zero", "[00]"),
    .init("n_number_negative_leading_zero", "[-01]"),
    .init("n_number_plus", "[+1]"),
    .init("n_number_leading_dot", "[.5]"),
    .init("n_number_minus_leading_dot", "[-.5]"),
    .init("n_number_trailing_dot", "[1.]"),
    .init("n_number_zero_trailing_dot", "[0.]"),
    .init("n_number_minus_only", "[-]"),
    .init("n_number_minus_space", "[- 1]"),
    .init("n_number_double_minus", "[--1]"),
    .init("n_number_minus_plus", "[-+1]"),
    .init("n_number_exponent_no_digits", "[1e]"),
    .init("n_number_exponent_sign_no_digits", "[1e+]"),
    .init("n_number_fraction_exponent_no_digits", "[1.5e]"),
    .init("n_number_dot_then_exponent", "[1.e5]"),
    .init("n_number_exponent_with_fraction", "[1e1.5]"),
    .init("n_number_two_exponents", "[1e2e3]"),
    .init("n_number_two_dots", "[1.2.3]"),
    .init("n_number_hex", "[0x10]"),
    .init("n_number_letter_suffix", "[1a]"),
    .init("n_number_space_inside", "[1 000]"),
    .init("n_number_fullwidth_digit", "[", [0xEF, 0xBC, 0x91], "]"),
    .init("n_number_top_level_exponent_no_digits", "1E"),
    .init("n_number_top_level_minus_dot", "-."),
    .init("n_number_top_level_trailing_dot", "2."),
    // Strings
    .init("n_string_unclosed", #"["abc"#),
    .init("n_string_unclosed_top_level", #""abc"#),
    .init("n_string_raw_newline", "[\"a\nb\"]"),
    .init("n_string_raw_tab", "[\"a\tb\"]"),
    .init("n_string_raw_nul", "[\"a", [0x00], "b\"]"),
    .init("n_string_raw_0x1f", "[\"", [0x1F], "\"]"),
    .init("n_string_raw_control_after_escape", #"["\n"#, [0x01], "\"]"),
    .init("n_string_escape_x", #"["\x41"]"#),
    .init("n_string_escape_a", #"["\a"]"#),
    .init("n_string_escape_apostrophe", #"["\'"]"#),
    .init("n_string_escape_capital_u", #"["\U0041"]"#),
    .init("n_string_escape_zero", #"["\0"]"#),
    .init("n_string_escape_raw_newline", "[\"\\\n\"]"),
    .init("n_string_escape_utf8", "[\"\\é\"]"),
    .init("n_string_u_too_short", #"["\u41"]"#),
    .init("n_string_u_non_hex", #"["\u00G0"]"#),
    .init("n_string_u_plus_sign", #"["\u+123"]"#),
    .init("n_string_u_truncated_input", #"["\u00"#),
    .init("n_string_backslash_at_end", #"["\"#),
    .init("n_string_escaped_quote_unclosed", #"["\"]"#),
    // UTF-8
    .init("n_utf8_lone_continuation", "[\"", [0x80], "\"]"),
    .init("n_utf8_overlong_two_byte_c0", "[\"", [0xC0, 0xAF], "\"]"),
    .init("n_utf8_overlong_two_byte_c1", "[\"", [0xC1, 0xBF], "\"]"),
    .init("n_utf8_overlong_three_byte", "[\"", [0xE0, 0x80, 0xAF], "\"]"),
    .init("n_utf8_overlong_three_byte_max", "[\"", [0xE0, 0x9F, 0xBF], "\"]"),
    .init("n_utf8_overlong_four_byte", "[\"", [0xF0, 0x80, 0x80, 0xAF], "\"]"),
    .init("n_utf8_overlong_four_byte_max", "[\"", [0xF0, 0x8F, 0xBF, 0xBF], "\"]"),
    .init("n_utf8_encoded_high_surrogate", "[\"", [0xED, 0xA0, 0x80], "\"]"),
    .init("n_utf8_encoded_low_surrogate", "[\"", [0xED, 0xBF, 0xBF], "\"]"),
    .init("n_utf8_cesu8_surrogate_pair", "[\"", [0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80], "\"]"),
    .init("n_utf8_above_max_f4_90", "[\"", [0xF4, 0x90, 0x80, 0x80], "\"]"),
    .init("n_utf8_lead_f5", "[\"", [0xF5, 0x80, 0x80, 0x80], "\"]"),
    .init("n_utf8_five_byte_form", "[\"", [0xF8, 0x88, 0x80, 0x80, 0x80], "\"]"),
    .init("n_utf8_byte_ff", "[\"", [0xFF], "\"]"),
    .init("n_utf8_byte_fe", "[\"", [0xFE], "\"]"),
    .init("n_utf8_truncated_two_byte", "[\"", [0xC3], "\"]"),
    .init("n_utf8_truncated_three_byte", "[\"", [0xE2, 0x82], "\"]"),
    .init("n_utf8_truncated_four_byte", "[\"", [0xF0, 0x9F, 0x98], "\"]"),
    .init("n_utf8_truncated_at_end_of_input", "[\"", [0xC3]),
    .init("n_utf8_bad_second_byte", "[\"", [0xC3, 0x28], "\"]"),
    .init("n_utf8_bad_third_byte", "[\"", [0xE2, 0x82, 0x28], "\"]"),
    .init("n_utf8_bad_fourth_byte", "[\"", [0xF0, 0x9F, 0x98, 0x28], "\"]"),
    .init("n_utf8_invalid_in_key", "{\"", [0xFF], "\":1}"),
    .init("n_utf8_invalid_after_escape", #"["\n"#, [0xC0, 0x80], "\"]"),
    .init("n_utf8_outside_string", "[", [0xC3, 0xA9], "]"),
    .init("n_utf8_latin1_e_acute", "[\"caf", [0xE9], "\"]"),
    .init("n_utf8_utf16le_input", [0xFF, 0xFE, 0x5B, 0x00, 0x5D, 0x00]),
]

/// Implementation-defined cases: the choice this reader makes, and why.
struct ImplementationDefinedCase: Sendable, CustomTestStringConvertible {
    let document: ConformanceCase
    let accepted: Bool
    let why: String

    init(_ name: String, _ parts: any DocumentPart..., accepted: Bool, why: String) {
        self.document = ConformanceCase(name, parts.flatMap(\.partBytes))
        self.accepted = accepted
        self.why = why
    }

    var testDescription: String { document.name }
}

let implementationDefinedCases: [ImplementationDefinedCase] = [
    .init("i_string_lone_high_surrogate", #"["\uD800"]"#, accepted: false,
          why: "a lone surrogate is no Unicode scalar; it cannot become valid UTF-8"),
    .init("i_string_lone_low_surrogate", #"["\uDC00"]"#, accepted: false, why: "same"),
    .init("i_string_reversed_surrogate_pair", #"["\uDC00\uD800"]"#, accepted: false, why: "same"),
    .init("i_string_high_surrogate_then_text", #"["\uD800abc"]"#, accepted: false, why: "same"),
    .init("i_string_two_high_surrogates", #"["\uD800\uD800"]"#, accepted: false, why: "same"),
    .init("i_string_high_surrogate_then_escape", #"["\uD800\n"]"#, accepted: false, why: "same"),
    .init("i_string_high_surrogate_at_end_of_string", #"["\uDBFF"]"#, accepted: false, why: "same"),
    .init("i_string_noncharacter_escape", #"["\uFDD0\uFFFF"]"#, accepted: true,
          why: "noncharacters are valid scalars"),
    .init("i_string_noncharacter_utf8", "[\"", [0xEF, 0xBF, 0xBE], "\"]", accepted: true,
          why: "U+FFFE is a valid scalar"),
    .init("i_number_huge_exponent", "[1e400]", accepted: true,
          why: "the tree keeps the text; readDouble reports it out of range"),
    .init("i_number_negative_huge_exponent", "[-1e400]", accepted: true, why: "same"),
    .init("i_number_underflow", "[1e-400]", accepted: true, why: "rounds to 0"),
    .init("i_number_huge_integer", "[123456789012345678901234567890]", accepted: true,
          why: "the tree keeps the text; readInt64 reports it out of range"),
    .init("i_number_below_int64_min", "[-9223372036854775809]", accepted: true, why: "same"),
    .init("i_number_very_long_mantissa", "[" + String(repeating: "9", count: 400) + "]", accepted: true,
          why: "grammar allows it; conversions decide"),
    .init("i_structure_500_nested_arrays", nested("[", "]", depth: 500), accepted: false,
          why: "deeper than the default limit of 64"),
    .init("i_structure_utf8_bom", [0xEF, 0xBB, 0xBF], "{}", accepted: false,
          why: "RFC 8259 forbids senders to add it; a clear error beats silent acceptance"),
    .init("i_structure_utf16be_bom", [0xFE, 0xFF, 0x00, 0x5B, 0x00, 0x5D], accepted: false,
          why: "only UTF-8 is accepted"),
    .init("i_object_duplicate_key", #"{"a":1,"a":2}"#, accepted: false,
          why: "JSONValue.parse rejects duplicates by default (keepAll accepts them)"),
    .init("i_object_duplicate_key_after_unescaping", #"{"a":1,"\u0061":2}"#, accepted: false,
          why: "keys compare after decoding escapes"),
    .init("i_object_duplicate_key_in_large_object",
          "{" + (0..<40).map { "\"k\($0)\":\($0)" }.joined(separator: ",") + ",\"k3\":0}", accepted: false,
          why: "large objects are checked with a set instead of a scan; same answer"),
    .init("i_object_many_distinct_keys_accepted",
          "{" + (0..<40).map { "\"k\($0)\":\($0)" }.joined(separator: ",") + "}", accepted: true,
          why: "no false duplicates either way"),
    .init("i_object_duplicate_key_nested_is_fine", #"{"a":{"a":1},"b":{"a":2}}"#, accepted: true,
          why: "duplicates are per object"),
]
