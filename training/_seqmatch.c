/* Exact C port of difflib.SequenceMatcher(None, a, b).ratio() for str arguments.
 *
 * Mirrors CPython's difflib (3.8-3.13, unchanged there) step by step, so values are bit-identical:
 *  - b2j: for every character of b the ascending list of its positions; with autojunk (always on,
 *    as in SequenceMatcher's default) and len(b) >= 200, characters occurring more than
 *    len(b) // 100 + 1 times are "popular" and dropped from b2j (isjunk is None: no junk set).
 *  - find_longest_match: rows i ascending, b2j[a[i]] ascending within [blo, bhi), run lengths
 *    k = j2len[j-1] + 1 from the previous row only, the first strictly longer run wins (earliest
 *    end in a, then earliest j); then the block is extended backwards and forwards over equal
 *    characters (this is how popular characters get matched). The junk-extension loops are no-ops
 *    because the junk set is empty.
 *  - get_matching_blocks: recurse on the left and right remainders; ratio = 2.0 * M / (la + lb),
 *    1.0 when both are empty, with M the total size of the matching blocks.
 * j2len is two stamped arrays (one per row parity) instead of a dict per row: an entry is valid
 * only if its stamp is the previous row's number, which is what "a fresh dict per row" means.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    Py_ssize_t n;            /* len(b) */
    Py_UCS4 *b;              /* code points of b */
    int32_t ascii_id[128];   /* symbol id of an ASCII char, -1 if absent from b2j */
    Py_UCS4 *hi_cp;          /* sorted distinct non-ASCII code points of b ... */
    int32_t *hi_id;          /* ... and their symbol ids (-1 if popular) */
    Py_ssize_t nhi;
    Py_ssize_t *start;       /* b2j in CSR form: positions of symbol s are idx[start[s]:start[s+1]] */
    Py_ssize_t *idx;
    /* work space for find_longest_match, sized n + 1 (j is stored at j + 1) */
    Py_ssize_t *len[2];
    Py_ssize_t *stamp[2];
    Py_ssize_t row;
} Index;

static Py_UCS4 *to_ucs4(PyObject *s, Py_ssize_t *n) {
    *n = PyUnicode_GET_LENGTH(s);
    Py_UCS4 *out = PyMem_Malloc(sizeof(Py_UCS4) * (*n + 1));
    if (!out) {
        PyErr_NoMemory();
        return NULL;
    }
    if (!PyUnicode_AsUCS4(s, out, *n + 1, 1)) {
        PyMem_Free(out);
        return NULL;
    }
    return out;
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
    PyMem_Free(ix->b);
    PyMem_Free(ix->hi_cp);
    PyMem_Free(ix->hi_id);
    PyMem_Free(ix->start);
    PyMem_Free(ix->idx);
    for (int p = 0; p < 2; p++) {
        PyMem_Free(ix->len[p]);
        PyMem_Free(ix->stamp[p]);
    }
}

/* Build b2j for b (SequenceMatcher.set_seq2 / __chain_b). Returns 0, or -1 with an exception set. */
static int index_build(Index *ix, PyObject *bobj) {
    memset(ix, 0, sizeof(*ix));
    Py_ssize_t n;
    if (!(ix->b = to_ucs4(bobj, &n)))
        return -1;
    ix->n = n;
    ix->row = 1; /* stamps start at 0: the first row (2) must not take them as its predecessor */
    Py_ssize_t ncp = 0;
    int32_t *cp_of_pos = NULL;     /* temporary: raw symbol (before popularity) of each position */
    Py_ssize_t *count = NULL;
    Py_UCS4 *sorted = PyMem_Malloc(sizeof(Py_UCS4) * (n + 1));
    ix->idx = PyMem_Malloc(sizeof(Py_ssize_t) * (n + 1));
    cp_of_pos = PyMem_Malloc(sizeof(int32_t) * (n + 1));
    for (int p = 0; p < 2; p++) {
        ix->len[p] = PyMem_Malloc(sizeof(Py_ssize_t) * (n + 1));
        ix->stamp[p] = PyMem_Calloc(n + 1, sizeof(Py_ssize_t));
    }
    if (!sorted || !ix->idx || !cp_of_pos || !ix->len[0] || !ix->len[1] || !ix->stamp[0] || !ix->stamp[1])
        goto nomem;

    /* distinct code points: ASCII by table, the rest sorted and deduplicated */
    int32_t raw_ascii[128];
    for (int c = 0; c < 128; c++)
        raw_ascii[c] = -1;
    Py_ssize_t nsorted = 0;
    for (Py_ssize_t j = 0; j < n; j++) {
        Py_UCS4 c = ix->b[j];
        if (c < 128) {
            if (raw_ascii[c] < 0)
                raw_ascii[c] = (int32_t)ncp++;
        } else {
            sorted[nsorted++] = c;
        }
    }
    qsort(sorted, nsorted, sizeof(Py_UCS4), cmp_ucs4);
    Py_ssize_t nhi = 0;
    for (Py_ssize_t t = 0; t < nsorted; t++)
        if (nhi == 0 || sorted[nhi - 1] != sorted[t])
            sorted[nhi++] = sorted[t];
    ix->nhi = nhi;
    ix->hi_cp = sorted;
    ix->hi_id = PyMem_Malloc(sizeof(int32_t) * (nhi + 1));
    if (!ix->hi_id)
        goto nomem;
    for (Py_ssize_t t = 0; t < nhi; t++)
        ix->hi_id[t] = (int32_t)ncp++;
    memcpy(ix->ascii_id, raw_ascii, sizeof(raw_ascii));

    /* counts per raw symbol, then popularity (autojunk) */
    count = PyMem_Calloc(ncp + 1, sizeof(Py_ssize_t));
    if (!count)
        goto nomem;
    for (Py_ssize_t j = 0; j < n; j++) {
        int32_t s = symbol_of(ix, ix->b[j]);
        cp_of_pos[j] = s;
        count[s]++;
    }
    Py_ssize_t ntest = n / 100 + 1;
    int autojunk = n >= 200;
    /* renumber: popular symbols get -1, others dense ids 0..nsym-1 */
    int32_t *renum = PyMem_Malloc(sizeof(int32_t) * (ncp + 1));
    if (!renum)
        goto nomem;
    int32_t nsym = 0;
    for (Py_ssize_t s = 0; s < ncp; s++)
        renum[s] = (autojunk && count[s] > ntest) ? -1 : nsym++;
    for (int c = 0; c < 128; c++)
        if (ix->ascii_id[c] >= 0)
            ix->ascii_id[c] = renum[ix->ascii_id[c]];
    for (Py_ssize_t t = 0; t < nhi; t++)
        ix->hi_id[t] = renum[ix->hi_id[t]];

    /* CSR b2j: positions ascending per symbol */
    ix->start = PyMem_Calloc(nsym + 1, sizeof(Py_ssize_t));
    if (!ix->start) {
        PyMem_Free(renum);
        goto nomem;
    }
    for (Py_ssize_t s = 0; s < ncp; s++)
        if (renum[s] >= 0)
            ix->start[renum[s] + 1] = count[s];
    for (int32_t s = 0; s < nsym; s++)
        ix->start[s + 1] += ix->start[s];
    memset(count, 0, sizeof(Py_ssize_t) * (ncp + 1)); /* reuse as fill cursor per new id */
    for (Py_ssize_t j = 0; j < n; j++) {
        int32_t s = renum[cp_of_pos[j]];
        if (s >= 0)
            ix->idx[ix->start[s] + count[s]++] = j;
    }
    PyMem_Free(renum);
    PyMem_Free(count);
    PyMem_Free(cp_of_pos);
    return 0;

nomem:
    if (!ix->hi_cp)
        PyMem_Free(sorted);
    PyMem_Free(count);
    PyMem_Free(cp_of_pos);
    index_free(ix);
    PyErr_NoMemory();
    return -1;
}

/* SequenceMatcher.find_longest_match(alo, ahi, blo, bhi) with isjunk=None. */
static void longest_match(Index *ix, const Py_UCS4 *a, const int32_t *asym, Py_ssize_t alo,
                          Py_ssize_t ahi, Py_ssize_t blo, Py_ssize_t bhi, Py_ssize_t *oi,
                          Py_ssize_t *oj, Py_ssize_t *ok) {
    const Py_UCS4 *b = ix->b;
    Py_ssize_t besti = alo, bestj = blo, bestsize = 0;
    ix->row++; /* j2len starts empty: the previous call's last row must not count as ours */
    for (Py_ssize_t i = alo; i < ahi; i++) {
        Py_ssize_t row = ++ix->row;
        int32_t s = asym[i];
        if (s < 0)
            continue; /* empty row: the next row sees no previous entries */
        Py_ssize_t *plen = ix->len[(row - 1) & 1], *pstamp = ix->stamp[(row - 1) & 1];
        Py_ssize_t *clen = ix->len[row & 1], *cstamp = ix->stamp[row & 1];
        const Py_ssize_t *p = ix->idx + ix->start[s], *end = ix->idx + ix->start[s + 1];
        /* skip j < blo (difflib's `continue`) by binary search: same result */
        Py_ssize_t lo = 0, hi = end - p;
        while (lo < hi) {
            Py_ssize_t mid = (lo + hi) / 2;
            if (p[mid] < blo)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (p += lo; p < end; p++) {
            Py_ssize_t j = *p;
            if (j >= bhi)
                break;
            Py_ssize_t k = (pstamp[j] == row - 1 ? plen[j] : 0) + 1; /* j2len[j-1] at slot j */
            clen[j + 1] = k;
            cstamp[j + 1] = row;
            if (k > bestsize) {
                besti = i - k + 1;
                bestj = j - k + 1;
                bestsize = k;
            }
        }
    }
    while (besti > alo && bestj > blo && a[besti - 1] == b[bestj - 1]) {
        besti--;
        bestj--;
        bestsize++;
    }
    while (besti + bestsize < ahi && bestj + bestsize < bhi && a[besti + bestsize] == b[bestj + bestsize])
        bestsize++;
    *oi = besti;
    *oj = bestj;
    *ok = bestsize;
}

/* Sum of get_matching_blocks() sizes for a against the indexed b; -1 with an exception on failure. */
static Py_ssize_t matches(Index *ix, PyObject *aobj, Py_ssize_t *la_out) {
    Py_ssize_t la;
    Py_UCS4 *a = to_ucs4(aobj, &la);
    if (!a)
        return -1;
    *la_out = la;
    int32_t *asym = PyMem_Malloc(sizeof(int32_t) * (la + 1));
    Py_ssize_t cap = 64, top = 0, total = 0;
    Py_ssize_t(*stack)[4] = PyMem_Malloc(sizeof(*stack) * cap);
    if (!asym || !stack) {
        PyMem_Free(a);
        PyMem_Free(asym);
        PyMem_Free(stack);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < la; i++)
        asym[i] = symbol_of(ix, a[i]);
    stack[top][0] = 0;
    stack[top][1] = la;
    stack[top][2] = 0;
    stack[top][3] = ix->n;
    top++;
    while (top) {
        top--;
        Py_ssize_t alo = stack[top][0], ahi = stack[top][1], blo = stack[top][2], bhi = stack[top][3];
        Py_ssize_t i, j, k;
        longest_match(ix, a, asym, alo, ahi, blo, bhi, &i, &j, &k);
        if (!k)
            continue;
        total += k;
        if (top + 2 > cap) {
            cap *= 2;
            void *grown = PyMem_Realloc(stack, sizeof(*stack) * cap);
            if (!grown) {
                PyMem_Free(a);
                PyMem_Free(asym);
                PyMem_Free(stack);
                PyErr_NoMemory();
                return -1;
            }
            stack = grown;
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
    PyMem_Free(a);
    PyMem_Free(asym);
    PyMem_Free(stack);
    return total;
}

static PyObject *ratio_of(Index *ix, PyObject *a) {
    if (!PyUnicode_Check(a))
        return PyErr_Format(PyExc_TypeError, "expected str, got %.100s", Py_TYPE(a)->tp_name);
    Py_ssize_t la, m = matches(ix, a, &la);
    if (m < 0)
        return NULL;
    Py_ssize_t length = la + ix->n;
    return PyFloat_FromDouble(length ? 2.0 * (double)m / (double)length : 1.0);
}

static PyObject *py_ratio(PyObject *self, PyObject *args) {
    PyObject *a, *b;
    if (!PyArg_ParseTuple(args, "UU:ratio", &a, &b))
        return NULL;
    Index ix;
    if (index_build(&ix, b) < 0)
        return NULL;
    PyObject *r = ratio_of(&ix, a);
    index_free(&ix);
    return r;
}

static PyObject *py_ratios(PyObject *self, PyObject *args) {
    PyObject *seqs, *b;
    if (!PyArg_ParseTuple(args, "OU:ratios", &seqs, &b))
        return NULL;
    PyObject *fast = PySequence_Fast(seqs, "ratios: first argument must be a sequence of str");
    if (!fast)
        return NULL;
    Index ix;
    if (index_build(&ix, b) < 0) {
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
     "ratio(a, b) -> float: difflib.SequenceMatcher(None, a, b).ratio(), exactly."},
    {"ratios", py_ratios, METH_VARARGS,
     "ratios(seqs, b) -> list[float]: ratio(a, b) for each a, indexing b once."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_seqmatch",
                                    "Exact C port of difflib.SequenceMatcher.ratio for str.", -1,
                                    methods};

PyMODINIT_FUNC PyInit__seqmatch(void) { return PyModule_Create(&module); }
