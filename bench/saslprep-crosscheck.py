"""Independent Unicode 3.2 reference for lib/saslprep.ts, from Python's own data.

Python ships the RFC 3454 tables (module `stringprep`) and Unicode 3.2 normalization
(`unicodedata.ucd_3_2_0`, with the Corrigendum #4 originals), built from the Unicode 3.2 data
files, not from the RFC's text or from @mongodb-js/saslprep. Two jobs:

  python3 bench/saslprep-crosscheck.py tables
      decodes every table in lib/passwords/saslprep-tables.ts and compares it with `stringprep` on every
      code point 0..0x10FFFF.
  python3 bench/saslprep-crosscheck.py prepare < cases
      reads one case per line, "q|s" + space-separated hex code points, and writes the
      Unicode 3.2 SASLprep result per line: "ok" + hex code points, or "err <rule>".

bench/saslprep-crosscheck.ts drives the second job against lib/saslprep.ts.
"""
import re
import stringprep
import sys
import unicodedata

UCD = unicodedata.ucd_3_2_0


def decode(encoded):
    numbers = [int(x, 36) for x in encoded.split(',')]
    members, end = set(), -1
    for i in range(0, len(numbers), 2):
        start = end + 1 + numbers[i]
        end = start + numbers[i + 1]
        members.update(range(start, end + 1))
    return members


def prohibited(c):
    return (stringprep.in_table_c12(c) or stringprep.in_table_c21_c22(c) or stringprep.in_table_c3(c)
            or stringprep.in_table_c4(c) or stringprep.in_table_c5(c) or stringprep.in_table_c6(c)
            or stringprep.in_table_c7(c) or stringprep.in_table_c8(c) or stringprep.in_table_c9(c))


CHECKS = {
    'UNASSIGNED': stringprep.in_table_a1,
    'MAPPED_TO_NOTHING': stringprep.in_table_b1,
    'MAPPED_TO_SPACE': stringprep.in_table_c12,
    'PROHIBITED': prohibited,
    'RAND_AL_CAT': stringprep.in_table_d1,
    'L_CAT': stringprep.in_table_d2,
}


def check_tables(path):
    source = open(path, encoding='utf-8').read()
    failures = 0
    for name, predicate in CHECKS.items():
        members = decode(re.search(r"export const %s = '([^']*)'" % name, source).group(1))
        wrong = [cp for cp in range(0x110000) if (cp in members) != bool(predicate(chr(cp)))]
        print('%-17s %7d code points, %d differ from stringprep%s' % (
            name, len(members), len(wrong), (': ' + ' '.join('%04X' % cp for cp in wrong[:20])) if wrong else ''))
        failures += len(wrong)
    return failures


def nfkc_3_2(text):
    # Unicode 3.2 gives an unassigned code point no decomposition and combining class 0, so it
    # splits the string into runs normalized alone. ucd_3_2_0.normalize does not do this by
    # itself: CPython reorders combining marks with the current database's combining classes,
    # so it moves (and composes across) marks assigned after 3.2, such as U+0350..U+035F.
    runs, run = [], ''
    for c in text:
        if stringprep.in_table_a1(c):
            runs.append(UCD.normalize('NFKC', run) + c)
            run = ''
        else:
            run += c
    return ''.join(runs) + UCD.normalize('NFKC', run)


def saslprep(text, allow_unassigned):
    mapped = ''.join(' ' if stringprep.in_table_c12(c) else c for c in text)
    mapped = ''.join(c for c in mapped if not stringprep.in_table_b1(c))
    prepared = nfkc_3_2(mapped)
    if any(prohibited(c) for c in prepared):
        return None, 'prohibited'
    if not allow_unassigned and any(stringprep.in_table_a1(c) for c in prepared):
        return None, 'unassigned'
    if any(stringprep.in_table_d1(c) for c in prepared):
        if any(stringprep.in_table_d2(c) for c in prepared):
            return None, 'bidi'
        if not (stringprep.in_table_d1(prepared[0]) and stringprep.in_table_d1(prepared[-1])):
            return None, 'bidi'
    return prepared, None


def prepare_cases():
    out = sys.stdout
    for line in sys.stdin:
        mode, _, hexes = line.rstrip('\n').partition(' ')
        text = ''.join(chr(int(h, 16)) for h in hexes.split())
        result, error = saslprep(text, mode == 'q')
        if error is not None:
            out.write('err ' + error + '\n')
        else:
            out.write('ok ' + ' '.join('%x' % ord(c) for c in result) + '\n')


if __name__ == '__main__':
    if sys.argv[1:] == ['tables']:
        sys.exit(1 if check_tables('lib/passwords/saslprep-tables.ts') else 0)
    elif sys.argv[1:] == ['prepare']:
        prepare_cases()
    else:
        sys.exit(__doc__)
