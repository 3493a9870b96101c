//! Typed column buffers for Parquet files written and read with the
//! `parquet` crate's low-level column writers and readers (cargo feature
//! `parquet`): a row is filled column by column, rows are written as row
//! groups, and a file written so reads back into the same buffers (what
//! `mlsim merge` re-encodes). A string column holds indices into a
//! [`Dictionary`] and is written by `parquet_names.rs`. The sweep's own
//! columns and names are in `sweep_parquet.rs`.

use std::borrow::Cow;
use std::fs::File;
use std::io::Write;
use std::sync::Arc;

use parquet::basic::{LogicalType, Repetition, Type as Physical};
use parquet::column::reader::{ColumnReader, get_typed_column_reader};
use parquet::column::writer::ColumnWriter;
use parquet::data_type::{BoolType, ByteArrayType, DataType, DoubleType, Int64Type};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;

pub(crate) use super::parquet_names::Dictionary;
use super::parquet_names::NameChunk;

/// A column's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    U64,
    F64,
    Bool,
    Str,
}

/// One column's name, type and whether it may be null.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Spec {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) nullable: bool,
}

/// The Parquet schema of `specs`.
pub(crate) fn schema(specs: &[Spec]) -> parquet::errors::Result<Arc<Type>> {
    let fields = specs
        .iter()
        .map(|c| {
            let (physical, logical) = match c.kind {
                Kind::U64 => (
                    Physical::INT64,
                    Some(LogicalType::Integer {
                        bit_width: 64,
                        is_signed: false,
                    }),
                ),
                Kind::F64 => (Physical::DOUBLE, None),
                Kind::Bool => (Physical::BOOLEAN, None),
                Kind::Str => (Physical::BYTE_ARRAY, Some(LogicalType::String)),
            };
            let repetition = if c.nullable {
                Repetition::OPTIONAL
            } else {
                Repetition::REQUIRED
            };
            Type::primitive_type_builder(&c.name, physical)
                .with_logical_type(logical)
                .with_repetition(repetition)
                .build()
                .map(Arc::new)
        })
        .collect::<parquet::errors::Result<Vec<_>>>()?;
    Type::group_type_builder("mlsim_sweep")
        .with_fields(fields)
        .build()
        .map(Arc::new)
}

/// One column's values, a value for every row (a placeholder where the
/// row's definition level is 0, null).
#[derive(Debug, Clone)]
enum Values {
    U64(Vec<i64>),
    F64(Vec<f64>),
    Bool(Vec<bool>),
    /// Indices into the file's [`Dictionary`].
    Name(Vec<u32>),
}

impl Values {
    fn len(&self) -> usize {
        match self {
            Values::U64(v) => v.len(),
            Values::F64(v) => v.len(),
            Values::Bool(v) => v.len(),
            Values::Name(v) => v.len(),
        }
    }
}

#[derive(Debug, Clone)]
struct Column {
    values: Values,
    /// Definition levels of a nullable column (1 present, 0 null); empty
    /// for a required one.
    defined: Vec<i16>,
}

/// Rows of a file's columns, by column.
#[derive(Debug, Clone)]
pub(crate) struct Columns {
    columns: Vec<Column>,
    pub(crate) rows: usize,
}

impl Columns {
    pub(crate) fn new(specs: &[Spec]) -> Self {
        let columns = specs
            .iter()
            .map(|s| Column {
                values: match s.kind {
                    Kind::U64 => Values::U64(Vec::new()),
                    Kind::F64 => Values::F64(Vec::new()),
                    Kind::Bool => Values::Bool(Vec::new()),
                    Kind::Str => Values::Name(Vec::new()),
                },
                defined: Vec::new(),
            })
            .collect();
        Self { columns, rows: 0 }
    }

    /// The rows of `other` after these (same columns).
    pub(crate) fn append(&mut self, other: Self) {
        for (a, b) in self.columns.iter_mut().zip(other.columns) {
            a.defined.extend(b.defined);
            match (&mut a.values, b.values) {
                (Values::U64(a), Values::U64(b)) => a.extend(b),
                (Values::F64(a), Values::F64(b)) => a.extend(b),
                (Values::Bool(a), Values::Bool(b)) => a.extend(b),
                (Values::Name(a), Values::Name(b)) => a.extend(b),
                _ => unreachable!("columns of one schema"),
            }
        }
        self.rows += other.rows;
    }

    /// The first `rows` rows, leaving the rest here.
    pub(crate) fn split_off_front(&mut self, rows: usize) -> Self {
        let mut front = Self {
            columns: Vec::with_capacity(self.columns.len()),
            rows,
        };
        for c in &mut self.columns {
            let defined = if c.defined.is_empty() {
                Vec::new()
            } else {
                let rest = c.defined.split_off(rows);
                std::mem::replace(&mut c.defined, rest)
            };
            fn front_of<T>(v: &mut Vec<T>, rows: usize) -> Vec<T> {
                let rest = v.split_off(rows);
                std::mem::replace(v, rest)
            }
            let values = match &mut c.values {
                Values::U64(v) => Values::U64(front_of(v, rows)),
                Values::F64(v) => Values::F64(front_of(v, rows)),
                Values::Bool(v) => Values::Bool(front_of(v, rows)),
                Values::Name(v) => Values::Name(front_of(v, rows)),
            };
            front.columns.push(Column { values, defined });
        }
        self.rows -= rows;
        front
    }

    /// `rows` more rows, filled column by column in [`specs`] order (a
    /// column's values for all of them at once: one dispatch on the column
    /// per batch, not per value).
    pub(crate) fn batch(&mut self, rows: usize) -> Batch<'_> {
        self.rows += rows;
        Batch {
            columns: &mut self.columns,
            next: 0,
            rows,
            total: self.rows,
        }
    }

    /// Row `r`'s string columns: each its name's index, `None` if null.
    #[cfg(test)]
    pub(crate) fn name_at(&self, r: usize) -> Vec<Option<u32>> {
        self.columns
            .iter()
            .filter_map(|c| match &c.values {
                Values::Name(v) => Some((c.defined.get(r) != Some(&0)).then_some(v[r])),
                _ => None,
            })
            .collect()
    }

    /// Empty every column, keeping its memory.
    pub(crate) fn clear(&mut self) {
        for c in &mut self.columns {
            c.defined.clear();
            match &mut c.values {
                Values::U64(v) => v.clear(),
                Values::F64(v) => v.clear(),
                Values::Bool(v) => v.clear(),
                Values::Name(v) => v.clear(),
            }
        }
        self.rows = 0;
    }
}

/// Write `chunks` (rows of the same columns, in order) as one row group,
/// their names as indices into `names` (on one thread: encoding the columns
/// in parallel, each into memory, then appending them, was slower on two
/// cores). The encoder cuts a number column's pages in runs of its batch
/// size (1024 rows) from the start of each chunk; chunks of whole runs cut
/// them as one chunk would, so that the sweep's pieces and the merge's row
/// groups write the same bytes. A string column is one chunk whatever the
/// pieces (`parquet_names.rs`).
pub(crate) fn write_row_group<W: Write + Send>(
    chunks: &[Columns],
    names: &Dictionary,
    file: &mut SerializedFileWriter<W>,
) -> parquet::errors::Result<()> {
    let chunks: Vec<&Columns> = chunks.iter().filter(|c| c.rows > 0).collect();
    let Some(first) = chunks.first() else {
        return Ok(());
    };
    let descrs = file.schema_descr().columns().to_vec();
    let mut group = file.next_row_group()?;
    for (j, descr) in descrs.into_iter().enumerate() {
        if let Values::Name(_) = first.columns[j].values {
            let mut chunk = NameChunk::new(names, descr.max_def_level() > 0);
            for c in &chunks {
                let Values::Name(v) = &c.columns[j].values else {
                    unreachable!("columns of one schema");
                };
                chunk.extend(v, &c.columns[j].defined);
            }
            chunk.write(descr, &mut group)?;
            continue;
        }
        let mut writer = group.next_column()?.expect("every column");
        for chunk in &chunks {
            let c = &chunk.columns[j];
            let defined = (!c.defined.is_empty()).then_some(c.defined.as_slice());
            match (&c.values, writer.untyped()) {
                (Values::U64(v), ColumnWriter::Int64ColumnWriter(w)) => {
                    w.write_batch(&present(v, defined), defined, None)?;
                }
                (Values::F64(v), ColumnWriter::DoubleColumnWriter(w)) => {
                    w.write_batch(&present(v, defined), defined, None)?;
                }
                (Values::Bool(v), ColumnWriter::BoolColumnWriter(w)) => {
                    w.write_batch(&present(v, defined), defined, None)?;
                }
                _ => unreachable!("values typed by the schema"),
            }
        }
        writer.close()?;
    }
    group.close()?;
    Ok(())
}

/// The values of rows whose definition level is 1 (all of them, borrowed,
/// when none is null): only those go to the page.
fn present<'a, T: Clone>(values: &'a [T], defined: Option<&[i16]>) -> Cow<'a, [T]> {
    match defined {
        Some(d) if d.contains(&0) => values
            .iter()
            .zip(d)
            .filter(|&(_, &d)| d == 1)
            .map(|(v, _)| v.clone())
            .collect(),
        _ => Cow::Borrowed(values),
    }
}

/// Rows being added: each call fills the next column with one value per
/// row of the batch.
pub(crate) struct Batch<'a> {
    columns: &'a mut [Column],
    next: usize,
    rows: usize,
    /// Rows once the batch is filled.
    total: usize,
}

impl Batch<'_> {
    /// The next column (its index and itself).
    fn column(&mut self) -> (usize, &mut Column) {
        let j = self.next;
        self.next += 1;
        (j, &mut self.columns[j])
    }

    /// The next column, a required one (no definition levels).
    fn required<T: Cell>(&mut self, values: impl IntoIterator<Item = T>) {
        let (j, c) = self.column();
        let Some(column) = T::values(&mut c.values) else {
            panic!("column {j} is of another type")
        };
        column.extend(values.into_iter().map(T::stored));
    }

    /// The next column, a nullable one: `None` is null.
    fn optional<T: Cell>(&mut self, values: impl IntoIterator<Item = Option<T>>) {
        let rows = self.rows;
        let (j, c) = self.column();
        let Some(column) = T::values(&mut c.values) else {
            panic!("column {j} is of another type")
        };
        let before = c.defined.len();
        for v in values {
            c.defined.push(i16::from(v.is_some()));
            column.push(v.map_or(T::NULL, T::stored));
        }
        debug_assert_eq!(c.defined.len(), before + rows, "a value for every row");
    }

    pub(crate) fn u64s(&mut self, values: impl IntoIterator<Item = u64>) {
        self.required(values);
    }

    pub(crate) fn f64s(&mut self, values: impl IntoIterator<Item = f64>) {
        self.required(values);
    }

    pub(crate) fn bools(&mut self, values: impl IntoIterator<Item = bool>) {
        self.required(values);
    }

    /// A string column: each name's index in the file's [`Dictionary`].
    pub(crate) fn names(&mut self, values: impl IntoIterator<Item = u32>) {
        self.required(values);
    }

    /// A nullable column: a non-finite number is null.
    pub(crate) fn opt_f64s(&mut self, values: impl IntoIterator<Item = f64>) {
        self.optional(values.into_iter().map(|v| v.is_finite().then_some(v)));
    }

    /// A nullable column: `None` is null.
    pub(crate) fn opt_u64s(&mut self, values: impl IntoIterator<Item = Option<u64>>) {
        self.optional(values);
    }

    /// A nullable string column: `None` is null.
    pub(crate) fn opt_names(&mut self, values: impl IntoIterator<Item = Option<u32>>) {
        self.optional(values);
    }

    /// Every column filled once, with a value for every row.
    pub(crate) fn done(self) {
        debug_assert_eq!(self.next, self.columns.len(), "a batch fills every column");
        debug_assert!(
            self.columns.iter().all(|c| c.values.len() == self.total),
            "a value for every row"
        );
    }
}

/// A value of one column type: the buffer its column keeps it in, as it is
/// kept there, and the placeholder a null leaves.
trait Cell: Sized {
    type Stored;
    const NULL: Self::Stored;
    fn stored(self) -> Self::Stored;
    /// The column's buffer, `None` if the column has another type.
    fn values(values: &mut Values) -> Option<&mut Vec<Self::Stored>>;
}

/// [`Cell`] for `$t`, kept in `Values::$variant` as `$stored`.
macro_rules! cell {
    ($t:ty, $variant:ident, $stored:ty, $null:expr, |$v:ident| $store:expr) => {
        impl Cell for $t {
            type Stored = $stored;
            const NULL: $stored = $null;
            fn stored(self) -> $stored {
                let $v = self;
                $store
            }
            fn values(values: &mut Values) -> Option<&mut Vec<$stored>> {
                match values {
                    Values::$variant(v) => Some(v),
                    _ => None,
                }
            }
        }
    };
}

cell!(u64, U64, i64, 0, |v| v as i64);
cell!(f64, F64, f64, 0.0, |v| v);
cell!(bool, Bool, bool, false, |v| v);
// A name: its index in the file's [`Dictionary`].
cell!(u32, Name, u32, 0, |v| v);

/// The column specs of a file written by [`write_row_group`]s.
pub(crate) fn specs_of(reader: &SerializedFileReader<File>) -> Result<Vec<Spec>, String> {
    let descr = reader.metadata().file_metadata().schema_descr();
    descr
        .columns()
        .iter()
        .map(|c| {
            let kind = match (c.physical_type(), c.logical_type_ref()) {
                (Physical::INT64, _) => Kind::U64,
                (Physical::DOUBLE, _) => Kind::F64,
                (Physical::BOOLEAN, _) => Kind::Bool,
                (Physical::BYTE_ARRAY, _) => Kind::Str,
                (other, _) => {
                    return Err(format!(
                        "column `{}` is {other}: not a column mlsim sweep writes",
                        c.name()
                    ));
                }
            };
            Ok(Spec {
                name: c.name().to_string(),
                kind,
                nullable: c.max_def_level() > 0,
            })
        })
        .collect()
}

/// Row group `g` of `reader`, every value expanded (nulls as placeholders),
/// its strings added to `names`. A page that does not decode is an error:
/// the parquet crate's decoders index with what a damaged page says (a
/// dictionary index past the dictionary's end panics in the crate), so
/// the read runs under `catch_unwind`, its panic message kept off the
/// terminal and returned as the error's text.
pub(crate) fn read_row_group(
    reader: &SerializedFileReader<File>,
    g: usize,
    specs: &[Spec],
    names: &mut Dictionary,
) -> parquet::errors::Result<Columns> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_row_group_unguarded(reader, g, specs, names)
    }));
    std::panic::set_hook(hook);
    read.unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into());
        Err(parquet::errors::ParquetError::General(format!(
            "row group {g}'s pages do not decode (the parquet crate stopped: {why})"
        )))
    })
}

fn read_row_group_unguarded(
    reader: &SerializedFileReader<File>,
    g: usize,
    specs: &[Spec],
    names: &mut Dictionary,
) -> parquet::errors::Result<Columns> {
    let group = reader.get_row_group(g)?;
    let rows = usize::try_from(reader.metadata().row_group(g).num_rows()).unwrap_or(0);
    let mut columns = Vec::with_capacity(specs.len());
    for (j, s) in specs.iter().enumerate() {
        let r = group.get_column_reader(j)?;
        let column = match r {
            ColumnReader::Int64ColumnReader(_) => {
                let (v, d) = read_column::<Int64Type>(r, rows, s.nullable)?;
                Column {
                    values: Values::U64(v),
                    defined: d,
                }
            }
            ColumnReader::DoubleColumnReader(_) => {
                let (v, d) = read_column::<DoubleType>(r, rows, s.nullable)?;
                Column {
                    values: Values::F64(v),
                    defined: d,
                }
            }
            ColumnReader::BoolColumnReader(_) => {
                let (v, d) = read_column::<BoolType>(r, rows, s.nullable)?;
                Column {
                    values: Values::Bool(v),
                    defined: d,
                }
            }
            ColumnReader::ByteArrayColumnReader(_) => {
                let (v, d) = read_column::<ByteArrayType>(r, rows, s.nullable)?;
                Column {
                    // A null row keeps a placeholder index, never read.
                    values: Values::Name(
                        v.iter()
                            .enumerate()
                            .map(|(r, v)| match d.get(r) {
                                Some(0) => 0,
                                _ => names.intern(v.data()),
                            })
                            .collect(),
                    ),
                    defined: d,
                }
            }
            _ => {
                return Err(parquet::errors::ParquetError::General(format!(
                    "column `{}` has a type mlsim sweep does not write",
                    s.name
                )));
            }
        };
        columns.push(column);
    }
    Ok(Columns { columns, rows })
}

/// `rows` values of one column chunk, nulls expanded to the default value.
fn read_column<T: DataType>(
    reader: ColumnReader,
    rows: usize,
    nullable: bool,
) -> parquet::errors::Result<(Vec<T::T>, Vec<i16>)>
where
    T::T: Default,
{
    let mut r = get_typed_column_reader::<T>(reader);
    let (mut values, mut defined) = (Vec::with_capacity(rows), Vec::new());
    let (read, _, _) = r.read_records(rows, nullable.then_some(&mut defined), None, &mut values)?;
    if read != rows {
        return Err(parquet::errors::ParquetError::General(format!(
            "{read} of {rows} rows in a column chunk"
        )));
    }
    if nullable {
        let mut present = values.into_iter();
        values = defined
            .iter()
            .map(|&d| {
                if d == 1 {
                    present.next().unwrap_or_default()
                } else {
                    T::T::default()
                }
            })
            .collect();
    }
    Ok((values, defined))
}
