/* Exact C port of difflib.SequenceMatcher(None, a, b).ratio() for str arguments.
 *
 * Mirrors CPython's difflib (unchanged from 3.8 to 3.13) so values are bit-identical:
 *  - b2j: for every character of b the ascending list of its positions; with autojunk (on by
 *    default) and len(b) >= 200, characters occurring more than len(b) // 100 + 1 times are
 *    "popular" and dropped from b2j (isjunk is None: the junk set is empty).
 *  - find_longest_match: run lengths k(i, j) = k(i-1, j-1) + 1 over cells with a[i] == b[j] in
 *    b2j and inside the rectangle; the winner is the longest run, ties going to the first cell in
 *    difflib's order (i ascending, then j ascending), i.e. the smallest end (i, j). Then the block
 *    is extended backwards and forwards over equal characters (this is how popular characters get
 *    matched); the junk-extension loops are no-ops because the junk set is empty.
 *  - get_matching_blocks: recurse on the left and right remainders; ratio = 2.0 * M / (la + lb),
 *    1.0 when both are empty, M the total size of the matching blocks.
 * Two liberties that cannot change a value: the run lengths of the previous line live in two
 * stamped arrays instead of a dict per row, and a call whose b range is shorter than its a range
 * scans b's positions (columns) against an index of a instead of a's rows against b2j: the cells
 * and run lengths are the same, and the tie rule is applied explicitly (smallest i, then j).
 * Long model actions against short expert actions are common and cost far less this way.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One sequence: its characters, their symbol ids (-1: not in b2j), its positions by symbol, and
 * the run-length buffers of a scan whose inner loop walks this sequence (slot p + 1 for p). */
typedef struct {
    Py_ssize_t n;
    Py_UCS4 *cp;
    int32_t *sym;
    Py_ssize_t *start; /* positions of symbol s: pos[start[s]:start[s + 1]], ascending */
    Py_ssize_t *pos;
    Py_ssize_t *len[2];
    Py_ssize_t *stamp[2];
} Side;

typedef struct {
    Side b;
    int32_t nsym;
    int32_t ascii_id[128]; /* symbol of an ASCII character, -1 if not in b2j */
    Py_UCS4 *hi_cp;        /* sorted distinct non-ASCII characters of b ... */
    int32_t *hi_id;        /* ... and their symbols */
    Py_ssize_t nhi;
    Py_ssize_t line; /* stamp of the line being scanned; unique across all scans */
} Index;

static void side_free(Side *s) {
    PyMem_Free(s->cp);
    PyMem_Free(s->sym);
    PyMem_Free(s->start);
    PyMem_Free(s->pos);
    for (int p = 0; p < 2; p++) {
        PyMem_Free(s->len[p]);
        PyMem_Free(s->stamp[p]);
    }
    memset(s, 0, sizeof(*s));
}

/* Characters of str s into side->cp, with room for the rest. Returns 0, or -1 with an exception. */
static int side_chars(Side *side, PyObject *s) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    side->n = n;
    side->cp = PyMem_Malloc(sizeof(Py_UCS4) * (n + 1));
    side->sym = PyMem_Malloc(sizeof(int32_t) * (n + 1));
    for (int p = 0; p < 2; p++) {
        side->len[p] = PyMem_Malloc(sizeof(Py_ssize_t) * (n + 1));
        side->stamp[p] = PyMem_Calloc(n + 1, sizeof(Py_ssize_t));
    }
    if (!side->cp || !side->sym || !side->len[0] || !side->len[1] || !side->stamp[0] || !side->stamp[1]) {
        PyErr_NoMemory();
        return -1;
    }
    return PyUnicode_AsUCS4(s, side->cp, n + 1, 1) ? 0 : -1;
}

/* Positions by symbol (counting sort of side->sym). Returns 0, or -1 with an exception. */
static int side_positions(Side *side, int32_t nsym) {
    side->start = PyMem_Calloc(nsym + 2, sizeof(Py_ssize_t));
    side->pos = PyMem_Malloc(sizeof(Py_ssize_t) * (side->n + 1));
    if (!side->start || !side->pos) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t *start = side->start;
    for (Py_ssize_t p = 0; p < side->n; p++)
        if (side->sym[p] >= 0)
            start[side->sym[p] + 2]++;
    for (int32_t s = 0; s < nsym; s++)
        start[s + 2] += start[s + 1];
    for (Py_ssize_t p = 0; p < side->n; p++) /* start[s + 1] is the fill cursor of s ... */
        if (side->sym[p] >= 0)
            side->pos[start[side->sym[p] + 1]++] = p;
    return 0; /* ... and ends as the end of s = the start of s + 1 */
}

static int cmp_ucs4(const void *x, const void *y) {
    Py_UCS4 a = *(const Py_UCS4 *)x, b = *(const Py_UCS4 *)y;
    return (a > b) - (a < b);
}

static int32_t symbol_of(const Index *ix, Py_UCS4 c) {
    if (c < 128)
        return ix->ascii_id[c];
    Py_ssize_t lo = 0, hi = ix->nhi;
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) / 2;
        if (ix->hi_cp[mid] < c)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (lo < ix->nhi && ix->hi_cp[lo] == c) ? ix->hi_id[lo] : -1;
}

static void index_free(Index *ix) {
    side_free(&ix->b);
    PyMem_Free(ix->hi_cp);
    PyMem_Free(ix->hi_id);
}

/* SequenceMatcher.set_seq2(b): b2j, with the autojunk rule when asked (difflib's default).
   Returns 0, or -1 with an exception. */
static int index_build(Index *ix, PyObject *bobj, int autojunk_on) {
    memset(ix, 0, sizeof(*ix));
    ix->line = 1; /* stamps start at 0, which must never read as "the previous line" */
    Side *b = &ix->b;
    Py_ssize_t *count = NULL;
    if (side_chars(b, bobj) < 0)
        goto fail;
    Py_ssize_t n = b->n;

    /* distinct characters: ASCII by table, the others sorted */
    int32_t ncp = 0;
    for (int c = 0; c < 128; c++)
        ix->ascii_id[c] = -1;
    if (!(ix->hi_cp = PyMem_Malloc(sizeof(Py_UCS4) * (n + 1))))
        goto nomem;
    for (Py_ssize_t j = 0; j < n; j++) {
        Py_UCS4 c = b->cp[j];
        if (c >= 128)
            ix->hi_cp[ix->nhi++] = c;
        else if (ix->ascii_id[c] < 0)
            ix->ascii_id[c] = ncp++;
    }
    qsort(ix->hi_cp, ix->nhi, sizeof(Py_UCS4), cmp_ucs4);
    Py_ssize_t nhi = 0;
    for (Py_ssize_t t = 0; t < ix->nhi; t++)
        if (nhi == 0 || ix->hi_cp[nhi - 1] != ix->hi_cp[t])
            ix->hi_cp[nhi++] = ix->hi_cp[t];
    ix->nhi = nhi;
    if (!(ix->hi_id = PyMem_Malloc(sizeof(int32_t) * (nhi + 1))))
        goto nomem;
    for (Py_ssize_t t = 0; t < nhi; t++)
        ix->hi_id[t] = ncp++;

    /* popular characters leave b2j; the rest are renumbered densely */
    if (!(count = PyMem_Calloc(ncp + 1, sizeof(Py_ssize_t))))
        goto nomem;
    for (Py_ssize_t j = 0; j < n; j++)
        count[b->sym[j] = symbol_of(ix, b->cp[j])]++;
    int autojunk = autojunk_on && n >= 200;
    Py_ssize_t ntest = n / 100 + 1;
    int32_t nsym = 0;
    for (int32_t s = 0; s < ncp; s++) /* count[s] becomes the new id of s, or -1 */
        count[s] = (autojunk && count[s] > ntest) ? -1 : nsym++;
    for (int c = 0; c < 128; c++)
        if (ix->ascii_id[c] >= 0)
            ix->ascii_id[c] = (int32_t)count[ix->ascii_id[c]];
    for (Py_ssize_t t = 0; t < nhi; t++)
        ix->hi_id[t] = (int32_t)count[ix->hi_id[t]];
    for (Py_ssize_t j = 0; j < n; j++)
        b->sym[j] = (int32_t)count[b->sym[j]];
    ix->nsym = nsym;
    PyMem_Free(count);
    count = NULL;
    if (side_positions(b, nsym) < 0)
        goto fail;
    return 0;

nomem:
    PyErr_NoMemory();
fail:
    PyMem_Free(count);
    index_free(ix);
    return -1;
}

/* Longest run of equal symbols between outer[ulo:uhi] and inner[vlo:vhi], walking outer positions
 * in order and, for each, inner's positions of the same symbol in order. Returns the run size and
 * its end (eu, ev). Ties: the first cell found (difflib's order) when outer is a; when outer is b
 * (by_column) the cell with the smallest a position v, then smallest u, which is the same cell. */
static Py_ssize_t scan(Index *ix, const Side *outer, Side *inner, Py_ssize_t ulo, Py_ssize_t uhi,
                       Py_ssize_t vlo, Py_ssize_t vhi, int by_column, Py_ssize_t *eu, Py_ssize_t *ev) {
    Py_ssize_t best = 0, bu = 0, bv = 0;
    ix->line++; /* runs start empty: the previous scan's last line must not count */
    for (Py_ssize_t u = ulo; u < uhi; u++) {
        Py_ssize_t line = ++ix->line;
        int32_t s = outer->sym[u];
        if (s < 0)
            continue; /* an empty line: the next line sees no runs to continue */
        const Py_ssize_t *plen = inner->len[(line - 1) & 1], *pstamp = inner->stamp[(line - 1) & 1];
        Py_ssize_t *clen = inner->len[line & 1], *cstamp = inner->stamp[line & 1];
        const Py_ssize_t *p = inner->pos + inner->start[s], *end = inner->pos + inner->start[s + 1];
        Py_ssize_t lo = 0, hi = end - p; /* skip positions < vlo (difflib's `continue`) */
        while (lo < hi) {
            Py_ssize_t mid = (lo + hi) / 2;
            if (p[mid] < vlo)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (p += lo; p < end && *p < vhi; p++) {
            Py_ssize_t v = *p;
            Py_ssize_t k = (pstamp[v] == line - 1 ? plen[v] : 0) + 1; /* run at v - 1, slot v */
            clen[v + 1] = k;
            cstamp[v + 1] = line;
            if (k > best || (by_column && k == best && v < bv)) {
                best = k;
                bu = u;
                bv = v;
            }
        }
    }
    *eu = bu;
    *ev = bv;
    return best;
}

/* SequenceMatcher.find_longest_match(alo, ahi, blo, bhi) with isjunk=None. */
static void longest_match(Index *ix, Side *a, Py_ssize_t alo, Py_ssize_t ahi, Py_ssize_t blo,
                          Py_ssize_t bhi, Py_ssize_t *oi, Py_ssize_t *oj, Py_ssize_t *ok) {
    Py_ssize_t ie, je, k;
    if (ahi - alo <= bhi - blo)
        k = scan(ix, a, &ix->b, alo, ahi, blo, bhi, 0, &ie, &je);
    else
        k = scan(ix, &ix->b, a, blo, bhi, alo, ahi, 1, &je, &ie);
    Py_ssize_t besti = k ? ie - k + 1 : alo, bestj = k ? je - k + 1 : blo;
    const Py_UCS4 *ac = a->cp, *bc = ix->b.cp;
    while (besti > alo && bestj > blo && ac[besti - 1] == bc[bestj - 1]) {
        besti--;
        bestj--;
        k++;
    }
    while (besti + k < ahi && bestj + k < bhi && ac[besti + k] == bc[bestj + k])
        k++;
    *oi = besti;
    *oj = bestj;
    *ok = k;
}

/* Total size of get_matching_blocks() for a against the indexed b; -1 with an exception. */
static Py_ssize_t matches(Index *ix, Side *a) {
    Py_ssize_t cap = 64, top = 0, total = 0;
    Py_ssize_t(*stack)[4] = PyMem_Malloc(sizeof(*stack) * cap);
    if (!stack) {
        PyErr_NoMemory();
        return -1;
    }
    stack[top][0] = 0, stack[top][1] = a->n, stack[top][2] = 0, stack[top][3] = ix->b.n;
    top++;
    while (top) {
        top--;
        Py_ssize_t alo = stack[top][0], ahi = stack[top][1], blo = stack[top][2], bhi = stack[top][3];
        Py_ssize_t i, j, k;
        longest_match(ix, a, alo, ahi, blo, bhi, &i, &j, &k);
        if (!k)
            continue;
        total += k;
        if (top + 2 > cap) {
            void *grown = PyMem_Realloc(stack, sizeof(*stack) * cap * 2);
            if (!grown) {
                PyMem_Free(stack);
                PyErr_NoMemory();
                return -1;
            }
            stack = grown;
            cap *= 2;
        }
        if (alo < i && blo < j) {
            Py_ssize_t *q = stack[top++];
            q[0] = alo, q[1] = i, q[2] = blo, q[3] = j;
        }
        if (i + k < ahi && j + k < bhi) {
            Py_ssize_t *q = stack[top++];
            q[0] = i + k, q[1] = ahi, q[2] = j + k, q[3] = bhi;
        }
    }
    PyMem_Free(stack);
    return total;
}

static PyObject *ratio_of(Index *ix, PyObject *aobj) {
    if (!PyUnicode_Check(aobj))
        return PyErr_Format(PyExc_TypeError, "expected str, got %.100s", Py_TYPE(aobj)->tp_name);
    Side a = {0};
    Py_ssize_t m = -1;
    if (side_chars(&a, aobj) == 0) {
        for (Py_ssize_t i = 0; i < a.n; i++)
            a.sym[i] = symbol_of(ix, a.cp[i]);
        if (side_positions(&a, ix->nsym) == 0)
            m = matches(ix, &a);
    }
    Py_ssize_t length = a.n + ix->b.n;
    side_free(&a);
    if (m < 0)
        return NULL;
    return PyFloat_FromDouble(length ? 2.0 * (double)m / (double)length : 1.0);
}

static PyObject *py_ratio(PyObject *self, PyObject *args) {
    PyObject *a, *b;
    int autojunk = 1;
    if (!PyArg_ParseTuple(args, "UU|p:ratio", &a, &b, &autojunk))
        return NULL;
    Index ix;
    if (index_build(&ix, b, autojunk) < 0)
        return NULL;
    PyObject *r = ratio_of(&ix, a);
    index_free(&ix);
    return r;
}

static PyObject *py_ratios(PyObject *self, PyObject *args) {
    PyObject *seqs, *b;
    int autojunk = 1;
    if (!PyArg_ParseTuple(args, "OU|p:ratios", &seqs, &b, &autojunk))
        return NULL;
    PyObject *fast = PySequence_Fast(seqs, "ratios: first argument must be a sequence of str");
    if (!fast)
        return NULL;
    Index ix;
    if (index_build(&ix, b, autojunk) < 0) {
        Py_DECREF(fast);
        return NULL;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    PyObject *out = PyList_New(n);
    for (Py_ssize_t t = 0; out && t < n; t++) {
        PyObject *r = ratio_of(&ix, PySequence_Fast_GET_ITEM(fast, t));
        if (!r)
            Py_CLEAR(out);
        else
            PyList_SET_ITEM(out, t, r);
    }
    index_free(&ix);
    Py_DECREF(fast);
    return out;
}

static PyMethodDef methods[] = {
    {"ratio", py_ratio, METH_VARARGS,
     "ratio(a, b, autojunk=True) -> float: difflib.SequenceMatcher(None, a, b, autojunk).ratio(), exactly."},
    {"ratios", py_ratios, METH_VARARGS,
     "ratios(seqs, b, autojunk=True) -> list[float]: ratio(a, b, autojunk) for each a in seqs, indexing b once."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_seqmatch",
                                    "Exact C port of difflib.SequenceMatcher.ratio for str.", -1,
                                    methods};

/* Bumped whenever the Python-visible signatures change, so a stale build in a checkout is not used. */
#define SEQMATCH_API 2

PyMODINIT_FUNC PyInit__seqmatch(void) {
    PyObject *m = PyModule_Create(&module);
    if (m && PyModule_AddIntConstant(m, "API", SEQMATCH_API) < 0)
        Py_CLEAR(m);
    return m;
}
