/* The loop of `lspolicy.evaluate.authorize._stream`, in C: the same steps for the requests
 * whose plan is warm and whose instance is in the caller's account (what a review decides
 * almost always), each other request handed back to the Python loop, one at a time, by
 * ``slow(n)``.
 *
 * Optional: built where a C compiler is (setup.py), never required. `authorize._stream`
 * uses it when it imports and LSPOLICY_PURE is unset; the pure-Python loop stays and the
 * tests run both (tests/unit/test_stream_native.py). Nothing here decides: every answer is
 * what a compiled decision function (Python) returns, called with exactly the arguments the
 * Python loop passes. What this file does is find those arguments without the interpreter:
 * the principal's state, the action's entry, the instance's normalised values and the
 * layout of the request's own key names.
 *
 * Anything this loop does not recognise (a principal's state not made yet, an entry still
 * counting its plan's uses, a part on the general path, a resource-based policy to read across
 * accounts, a context that is not a dict, a layout of key names not seen yet, an index that is
 * not a plain int in range) goes to ``slow``, which runs the Python loop on that one request:
 * so errors are raised, and states and layouts are made, by the Python code alone. The loop
 * itself calls only what the Python loop calls at the same step: `PolicySet._batch_entry` for
 * an action the principal has not met yet, and a part's ``values`` and ``resource_account``
 * when they are first read.
 *
 * `by_positions` reads requests ahead (prefetch) when the positions come as ``array('q')``,
 * as `batch._by_principal` gives them: grouped by principal, the requests are visited out of
 * their order in memory, and waiting for each from memory cost more than the interpreter
 * did (bench/README.md, "Engine round 13").
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *s_direct;           /* "_direct" */
static PyObject *s_resource_account; /* "_resource_account" */
static PyObject *s_values;           /* "_values" */
static PyObject *s_resource_account_found; /* "resource_account" */
static PyObject *s_values_normalised;      /* "values" */
static PyObject *s_batch_entry;            /* "_batch_entry" */
static PyObject *s_resource;               /* "resource" */

/* The index ``obj`` stands for in a sequence of ``size`` items, or -1 when it is not a
 * plain int in range (the Python loop then raises, or takes a negative index, itself). */
static Py_ssize_t
index_in(PyObject *obj, Py_ssize_t size)
{
    if (!PyLong_CheckExact(obj))
        return -1;
    Py_ssize_t k = PyLong_AsSsize_t(obj);
    if (k == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return -1;
    }
    return (k >= 0 && k < size) ? k : -1;
}

typedef struct {
    PyObject *requests, *states, *instances, *out, *slow, *unread, *no_keys, *never;
    Py_ssize_t n_requests, n_instances;
} Stream;

/* ``tuple(context)`` for a dict: its keys in order. New reference; NULL on error. */
static PyObject *
key_names(PyObject *context, Py_ssize_t size)
{
    PyObject *names = PyTuple_New(size);
    if (names == NULL)
        return NULL;
    Py_ssize_t pos = 0, k = 0;
    PyObject *key, *value;
    while (PyDict_Next(context, &pos, &key, &value)) {
        if (k == size) { /* cannot happen: nothing runs between the size and the walk */
            Py_DECREF(names);
            PyErr_SetString(PyExc_RuntimeError, "dict changed size during iteration");
            return NULL;
        }
        Py_INCREF(key);
        PyTuple_SET_ITEM(names, k, key);
        k++;
    }
    return names;
}

enum { DONE = 0, FAILED = -1, SLOW = 1 };

/* The answer of the request at ``n``, put in ``out[n]``; SLOW when the Python loop must
 * decide it. */
static int
decide_one(Stream *st, Py_ssize_t n)
{
    if (n < 0 || n >= st->n_requests || n >= PyList_GET_SIZE(st->out))
        return SLOW;
    PyObject *req = PySequence_Fast_GET_ITEM(st->requests, n);
    if (!PyTuple_CheckExact(req) || PyTuple_GET_SIZE(req) != 4)
        return SLOW;
    Py_ssize_t p = index_in(PyTuple_GET_ITEM(req, 0), PyList_GET_SIZE(st->states));
    if (p < 0)
        return SLOW;
    PyObject *state = PyList_GET_ITEM(st->states, p);
    if (!PyTuple_CheckExact(state) || PyTuple_GET_SIZE(state) != 6)
        return SLOW; /* None: not made yet */
    PyObject *values = PyTuple_GET_ITEM(state, 2);
    PyObject *seen = PyTuple_GET_ITEM(state, 5);
    if (values == Py_None || !PyDict_CheckExact(seen))
        return SLOW;
    PyObject *action = PyTuple_GET_ITEM(req, 1);
    PyObject *entry = PyDict_GetItemWithError(seen, action);
    if (entry == NULL) {
        if (PyErr_Occurred() || !PyUnicode_CheckExact(action)) {
            PyErr_Clear(); /* an action that cannot be a key raises in the Python loop */
            return SLOW;
        }
        /* entry = seen[action] = ps._batch_entry(action) */
        PyObject *made = PyObject_CallMethodOneArg(PyTuple_GET_ITEM(state, 0), s_batch_entry, action);
        if (made == NULL)
            return FAILED;
        int put = PyDict_SetItem(seen, action, made);
        Py_DECREF(made); /* seen holds it */
        if (put < 0)
            return FAILED;
        entry = made;
    }
    if (!PyTuple_CheckExact(entry) || PyTuple_GET_SIZE(entry) != 7 ||
        PyTuple_GET_ITEM(entry, 5) != Py_False)
        return SLOW; /* cold: the Python loop counts its uses */
    Py_ssize_t i = index_in(PyTuple_GET_ITEM(req, 2), st->n_instances);
    if (i < 0)
        return SLOW;

    /* held while Python code runs: what the state, the entry and the request hold is borrowed */
    PyObject *part = PySequence_Fast_GET_ITEM(st->instances, i);
    Py_INCREF(req);
    Py_INCREF(state);
    Py_INCREF(entry);
    Py_INCREF(part);
    int rc = SLOW;
    PyObject *resource = NULL, *account = NULL, *given = NULL, *names = NULL, *found = NULL;
    PyObject *result = NULL;

    resource = PyObject_GetAttr(part, s_direct);
    if (resource == NULL) {
        PyErr_Clear();
        goto end;
    }
    if (resource == Py_None)
        goto end; /* the part takes the general path */
    PyObject *caller_account = PyTuple_GET_ITEM(state, 3);
    if (caller_account != Py_None) {
        account = PyObject_GetAttr(part, s_resource_account);
        if (account == NULL) {
            PyErr_Clear();
            goto end;
        }
        if (account == st->unread) {
            Py_DECREF(account); /* found when first read */
            account = PyObject_GetAttr(part, s_resource_account_found);
            if (account == NULL) {
                rc = FAILED;
                goto end;
            }
        }
        if (account != Py_None) {
            int other = PyObject_RichCompareBool(account, caller_account, Py_NE);
            if (other < 0) {
                rc = FAILED;
                goto end;
            }
            if (other) {
                /* across accounts a resource-based policy must allow too: without one in the
                 * plan the answer is no (as `is_allowed` answers); with one, in Python */
                PyObject *policy = PyObject_GetAttr(PyTuple_GET_ITEM(entry, 0), s_resource);
                if (policy == NULL) {
                    rc = FAILED;
                    goto end;
                }
                int some = PyObject_IsTrue(policy);
                Py_DECREF(policy);
                if (some < 0) {
                    rc = FAILED;
                    goto end;
                }
                if (some)
                    goto end;
                Py_INCREF(Py_False);
                PyList_SetItem(st->out, n, Py_False);
                rc = DONE;
                goto end;
            }
        }
    }
    PyObject *decide = PyTuple_GET_ITEM(entry, 1);
    if (decide == st->never) {
        Py_INCREF(Py_False);
        PyList_SetItem(st->out, n, Py_False);
        rc = DONE;
        goto end;
    }
    given = PyObject_GetAttr(part, s_values);
    if (given == NULL) {
        PyErr_Clear();
        goto end;
    }
    if (given == Py_None) {
        Py_DECREF(given); /* normalised when first read */
        given = PyObject_GetAttr(part, s_values_normalised);
        if (given == NULL) {
            rc = FAILED;
            goto end;
        }
    }
    int needs_caller = PyObject_IsTrue(PyTuple_GET_ITEM(entry, 3));
    if (needs_caller < 0) {
        rc = FAILED;
        goto end;
    }
    PyObject *context = PyTuple_GET_ITEM(req, 3);
    Py_ssize_t size = 0;
    if (context != Py_None) {
        if (!PyDict_CheckExact(context))
            goto end; /* another mapping: its truth and keys in Python */
        size = PyDict_GET_SIZE(context);
    }
    PyObject *layouts = PyTuple_GET_ITEM(entry, 4);
    if (size) {
        if (!PyDict_CheckExact(layouts))
            goto end;
        names = key_names(context, size);
        if (names == NULL) {
            rc = FAILED;
            goto end;
        }
        found = PyDict_GetItemWithError(layouts, names);
        if (found == NULL) {
            if (PyErr_Occurred()) {
                rc = FAILED;
                goto end;
            }
            goto end; /* a new layout: made in Python */
        }
        Py_INCREF(found);
    }
    PyObject *caller = PyTuple_GET_ITEM(state, 4);
    PyObject *call[6];
    PyObject *raw = PyTuple_GET_ITEM(entry, 6);
    PyObject *bare = PyTuple_GET_ITEM(entry, 2);
    if (raw == Py_True) {
        /* decide(resource, context, layout, given, values[, caller]) */
        call[0] = resource;
        call[1] = size ? context : st->no_keys;
        call[2] = size ? found : st->no_keys;
        call[3] = given;
        call[4] = values;
        call[5] = caller;
        result = PyObject_Vectorcall(decide, call, needs_caller ? 6 : 5, NULL);
    }
    else if (raw == Py_False && bare != Py_None) {
        PyObject *variant = Py_None;
        if (size) {
            if (!PyTuple_CheckExact(found) || PyTuple_GET_SIZE(found) != 2)
                goto end;
            variant = PyTuple_GET_ITEM(found, 1);
            if (variant == Py_None && PyObject_Length(PyTuple_GET_ITEM(found, 0)) != 0) {
                PyErr_Clear();
                goto end; /* keys to merge: in Python */
            }
        }
        if (variant != Py_None) {
            /* variant(resource, context, given, values[, caller]) */
            call[0] = resource;
            call[1] = context;
            call[2] = given;
            call[3] = values;
            call[4] = caller;
            result = PyObject_Vectorcall(variant, call, needs_caller ? 5 : 4, NULL);
        }
        else {
            /* bare(resource, given, values[, caller]) */
            call[0] = resource;
            call[1] = given;
            call[2] = values;
            call[3] = caller;
            result = PyObject_Vectorcall(bare, call, needs_caller ? 4 : 3, NULL);
        }
    }
    else
        goto end; /* the merged context: in Python */
    if (result == NULL) {
        rc = FAILED;
        goto end;
    }
    PyList_SetItem(st->out, n, result); /* steals */
    result = NULL;
    rc = DONE;
end:
    Py_XDECREF(found);
    Py_XDECREF(names);
    Py_XDECREF(given);
    Py_XDECREF(account);
    Py_XDECREF(resource);
    Py_DECREF(part);
    Py_DECREF(entry);
    Py_DECREF(state);
    Py_DECREF(req);
    return rc;
}

/* The request at ``n`` decided here, or by ``slow(n)``: -1 on an error. */
static int
decide_or_hand_back(Stream *st, Py_ssize_t n, PyObject *n_obj)
{
    /* sizes read again each time: a slow(n) runs Python code */
    st->n_requests = Py_SIZE(st->requests);
    st->n_instances = Py_SIZE(st->instances);
    int rc = decide_one(st, n);
    if (rc != SLOW)
        return rc;
    PyObject *boxed = n_obj;
    if (boxed == NULL && (boxed = PyLong_FromSsize_t(n)) == NULL)
        return FAILED;
    PyObject *done = PyObject_CallOneArg(st->slow, boxed);
    if (boxed != n_obj)
        Py_DECREF(boxed);
    if (done == NULL)
        return FAILED;
    Py_DECREF(done);
    return DONE;
}

/* Any iterable of positions. */
static int
by_iterator(Stream *st, PyObject *order)
{
    PyObject *iterator = PyObject_GetIter(order);
    if (iterator == NULL)
        return 1;
    PyObject *n_obj;
    int rc = DONE;
    while (rc != FAILED && (n_obj = PyIter_Next(iterator)) != NULL) {
        Py_ssize_t n = index_in(n_obj, PY_SSIZE_T_MAX);
        /* not a plain int, or negative: slow(n) takes it (or raises) as the Python loop does */
        rc = n < 0 ? SLOW : decide_or_hand_back(st, n, n_obj);
        if (rc == SLOW) {
            PyObject *done = PyObject_CallOneArg(st->slow, n_obj);
            rc = done == NULL ? FAILED : DONE;
            Py_XDECREF(done);
        }
        Py_DECREF(n_obj);
    }
    Py_DECREF(iterator);
    return rc == FAILED || PyErr_Occurred() ? 1 : 0;
}

#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(address) __builtin_prefetch(address)
#else
#define PREFETCH(address) ((void)0)
#endif

/* Positions as 64-bit integers (`array('q')`, what `batch._by_principal` gives): the
 * requests are visited out of their order in memory, so each is fetched ahead, in stages,
 * while earlier requests are decided: its slot in the list; then the request; then its own
 * keys' dict, its instance index and its answer's slot; then that dict's keys and the
 * instance's part. (Only loads are started: what a stage reads is read again, checked, when
 * the request's turn comes.) */
static int
by_positions(Stream *st, const long long *positions, Py_ssize_t count)
{
    /* how many requests ahead each stage runs: a request takes ~2 us, a load from memory
     * ~0.1 us, so each stage's loads have arrived when the next stage reads them */
    enum { SLOT = 8, REQUEST = 6, PARTS = 4, INNER = 2 };
    for (Py_ssize_t j = 0; j < count; j++) {
        Py_ssize_t size = Py_SIZE(st->requests);
        PyObject **items = PySequence_Fast_ITEMS(st->requests);
        if (j + SLOT < count) {
            long long n = positions[j + SLOT];
            if (n >= 0 && n < size)
                PREFETCH(&items[n]);
        }
        if (j + REQUEST < count) {
            long long n = positions[j + REQUEST];
            if (n >= 0 && n < size)
                PREFETCH(items[n]);
        }
        if (j + PARTS < count) {
            long long n = positions[j + PARTS];
            if (n >= 0 && n < size) {
                PyObject *req = items[n];
                if (PyTuple_CheckExact(req) && PyTuple_GET_SIZE(req) == 4) {
                    PREFETCH(PyTuple_GET_ITEM(req, 3)); /* the request's own keys */
                    PREFETCH(PyTuple_GET_ITEM(req, 2)); /* the instance's index */
                }
                if (n < PyList_GET_SIZE(st->out))
                    PREFETCH(&PySequence_Fast_ITEMS(st->out)[n]);
            }
        }
        if (j + INNER < count) {
            long long n = positions[j + INNER];
            if (n >= 0 && n < size) {
                PyObject *req = items[n];
                if (PyTuple_CheckExact(req) && PyTuple_GET_SIZE(req) == 4) {
                    PyObject *context = PyTuple_GET_ITEM(req, 3);
                    if (PyDict_CheckExact(context))
                        PREFETCH(((PyDictObject *)context)->ma_keys);
                    Py_ssize_t i = index_in(PyTuple_GET_ITEM(req, 2), Py_SIZE(st->instances));
                    if (i >= 0)
                        PREFETCH(PySequence_Fast_ITEMS(st->instances)[i]);
                }
            }
        }
        long long n = positions[j];
        if (n < 0 || n > PY_SSIZE_T_MAX) {
            /* the Python loop takes a negative position (or raises) */
            PyObject *n_obj = PyLong_FromLongLong(n);
            if (n_obj == NULL)
                return 1;
            PyObject *done = PyObject_CallOneArg(st->slow, n_obj);
            Py_DECREF(n_obj);
            if (done == NULL)
                return 1;
            Py_DECREF(done);
            continue;
        }
        if (decide_or_hand_back(st, (Py_ssize_t)n, NULL) == FAILED)
            return 1;
    }
    return 0;
}

PyDoc_STRVAR(stream_doc,
             "stream(requests, order, states, instances, out, slow, unread, no_keys, never)\n--\n\n"
             "out[n] for each n of order, as `authorize._stream` decides it; slow(n) decides a\n"
             "request this loop hands back.");

static PyObject *
stream(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 9) {
        PyErr_SetString(PyExc_TypeError, "stream() takes 9 arguments");
        return NULL;
    }
    Stream st = {args[0], args[2], args[3], args[4], args[5], args[6], args[7], args[8], 0, 0};
    PyObject *order = args[1];
    if (!PyList_CheckExact(st.states) || !PyList_CheckExact(st.out) ||
        !(PyList_CheckExact(st.requests) || PyTuple_CheckExact(st.requests)) ||
        !(PyList_CheckExact(st.instances) || PyTuple_CheckExact(st.instances))) {
        PyErr_SetString(PyExc_TypeError, "stream() takes lists and tuples");
        return NULL;
    }
    /* held: a slow(n) could drop the caller's references to them */
    Py_INCREF(st.requests);
    Py_INCREF(st.instances);
    int failed = 0;
    Py_buffer view;
    if (PyObject_CheckBuffer(order) &&
        PyObject_GetBuffer(order, &view, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) == 0) {
        if (view.itemsize == 8 && view.format != NULL && strcmp(view.format, "q") == 0)
            failed = by_positions(&st, (const long long *)view.buf, view.len / 8);
        else
            failed = by_iterator(&st, order);
        PyBuffer_Release(&view);
    }
    else {
        PyErr_Clear();
        failed = by_iterator(&st, order);
    }
    Py_DECREF(st.instances);
    Py_DECREF(st.requests);
    if (failed)
        return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"stream", (PyCFunction)(void (*)(void))stream, METH_FASTCALL, stream_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "lspolicy.evaluate._cstream",
    "The loop of authorize._stream in C (optional; see _cstream.c).",
    -1,
    methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC
PyInit__cstream(void)
{
    s_direct = PyUnicode_InternFromString("_direct");
    s_resource_account = PyUnicode_InternFromString("_resource_account");
    s_values = PyUnicode_InternFromString("_values");
    s_resource_account_found = PyUnicode_InternFromString("resource_account");
    s_values_normalised = PyUnicode_InternFromString("values");
    s_batch_entry = PyUnicode_InternFromString("_batch_entry");
    s_resource = PyUnicode_InternFromString("resource");
    if (s_direct == NULL || s_resource_account == NULL || s_values == NULL ||
        s_resource_account_found == NULL || s_values_normalised == NULL || s_batch_entry == NULL ||
        s_resource == NULL)
        return NULL;
    return PyModule_Create(&module);
}
