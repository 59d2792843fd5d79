//! Records: created with every field, changed a few fields at a time, and
//! acted on through [`Generator::with_record`] so their state stays true.

use super::*;

impl Generator {
    pub(super) fn fill(&mut self, fields: &'static [Field], obj: &mut Map<String, Value>) {
        for field in fields {
            if let Mode::Optional(_, percent) = field.mode
                && self.rng.below(100) >= usize::from(percent)
            {
                continue;
            }
            let v = self.value(field.generator, None, obj);
            obj.insert(field.name.to_string(), v);
        }
    }

    pub(super) fn new_record(&mut self, category: Category) -> Record {
        let def = category_def(category);
        let mut state = Map::new();
        for field in def.fields {
            if let Gen::Number(prefix) = field.generator {
                let counter = &mut self.counters[category.index()];
                *counter += 1;
                state.insert(field.name.to_string(), format!("{prefix}{:04}", *counter).into());
            }
        }
        for field in def.fields.iter().filter(|f| !matches!(f.generator, Gen::Number(_))) {
            if let Mode::Optional(_, percent) = field.mode
                && self.rng.below(100) >= usize::from(percent)
            {
                continue;
            }
            let v = self.value(field.generator, None, &state);
            state.insert(field.name.to_string(), v);
        }
        let name = state.get(def.name_field).and_then(Value::as_str).unwrap_or_default().to_string();
        let id = record_id(def.id_prefix, self.now.div_euclid(1000), &mut self.rng);
        Record { id, name, state, closed: false, protected: false }
    }

    // ---- Changes ------------------------------------------------------

    /// Changes `want` distinct fields of `obj` in place and returns the diff.
    pub(super) fn mutate(
        &mut self,
        fields: &'static [Field],
        obj: &mut Map<String, Value>,
        want: usize,
    ) -> ChangeTree {
        let mut tree = ChangeTree::new();
        let weight = |f: &Field| match f.mode {
            Mode::Fixed => 0,
            Mode::Edit(w) | Mode::Optional(w, _) => u32::from(w),
        };
        let total: u32 = fields.iter().map(weight).sum();
        if total == 0 {
            return tree;
        }
        let mut attempts = 0;
        while tree.len() < want && attempts < want * 4 + 4 {
            attempts += 1;
            let mut x = self.rng.below(total as usize) as u32;
            let field = fields
                .iter()
                .find(|f| {
                    let w = weight(f);
                    if x < w {
                        true
                    } else {
                        x -= w;
                        false
                    }
                })
                .expect("weighted pick");
            if tree.contains_key(field.name) {
                continue;
            }
            if let Some(node) = self.change_field(field, obj) {
                tree.insert(field.name.to_string(), node);
            }
        }
        tree
    }

    pub(super) fn change_field(&mut self, field: &Field, obj: &mut Map<String, Value>) -> Option<ChangeNode> {
        let name = field.name;
        if !obj.contains_key(name) {
            let v = self.value(field.generator, None, obj);
            obj.insert(name.to_string(), v.clone());
            return Some(ChangeNode::Value { old: None, new: Some(v) });
        }
        if matches!(field.mode, Mode::Optional(..)) && self.rng.chance(0.35) {
            let old = obj.remove(name);
            return Some(ChangeNode::Value { old, new: None });
        }
        match field.generator {
            Gen::Nested(fields) => {
                let mut inner = match obj.get_mut(name) {
                    Some(Value::Object(m)) => std::mem::take(m),
                    _ => return None,
                };
                let want = if self.rng.chance(0.3) { 2 } else { 1 };
                let subtree = self.mutate(fields, &mut inner, want);
                obj.insert(name.to_string(), Value::Object(inner));
                (!subtree.is_empty()).then_some(ChangeNode::Nested { fields: subtree })
            }
            Gen::Address => {
                let new = self.change_address(&obj[name]);
                let old = std::mem::replace(obj.get_mut(name).expect("present"), new);
                let subtree = diff_objects(&old, &obj[name]);
                (!subtree.is_empty()).then_some(ChangeNode::Nested { fields: subtree })
            }
            generator => {
                let new = self.value(generator, obj.get(name), obj);
                let slot = obj.get_mut(name).expect("present");
                if *slot == new {
                    return None;
                }
                let old = std::mem::replace(slot, new.clone());
                Some(ChangeNode::Value { old: Some(old), new: Some(new) })
            }
        }
    }

    pub(super) fn changes_per_update(&mut self) -> usize {
        match self.rng.below(100) {
            0..45 => 1,
            45..75 => 2,
            75..92 => 3,
            _ => 4,
        }
    }

    // ---- Actions ------------------------------------------------------

    pub(super) fn create(&mut self, category: Category) -> Outcome {
        let def = category_def(category);
        let pool_len = self.pools[category.index()].len();
        if pool_len >= def.capacity
            && let Some(i) = self.find(category, Want::Deletable)
        {
            // The record goes quiet rather than deleted: most real records
            // are simply never touched again.
            self.pools[category.index()].swap_remove(i);
        }
        let mut record = self.new_record(category);
        if let Some(p) = self.acting {
            // Whoever creates a key or sends an invitation is on record as
            // doing so.
            for field in ["created_by", "invited_by"] {
                if let Some(slot) = record.state.get_mut(field) {
                    *slot = self.cast.people[p].name.into();
                }
            }
        }
        let outcome = Outcome {
            category,
            verb: creation_verb(category).expect("category has a creation verb"),
            id: record.id.clone(),
            name: record.name.clone(),
            changes: Some(Changes::Initial(record.state.clone())),
            metadata: Map::new(),
        };
        self.pools[category.index()].push(record);
        outcome
    }

    /// Runs `f` on a live record's state with the record taken out of the
    /// pool's borrow, so `f` can use the generator freely.
    pub(super) fn with_record<T>(
        &mut self,
        category: Category,
        i: usize,
        f: impl FnOnce(&mut Generator, &mut Map<String, Value>, &mut bool) -> T,
    ) -> (Outcome, T) {
        let pool = &mut self.pools[category.index()];
        let mut state = std::mem::take(&mut pool[i].state);
        let mut closed = pool[i].closed;
        let result = f(self, &mut state, &mut closed);
        let def = category_def(category);
        let record = &mut self.pools[category.index()][i];
        if let Some(name) = state.get(def.name_field).and_then(Value::as_str)
            && name != record.name
        {
            record.name = name.to_string();
        }
        record.state = state;
        record.closed = closed;
        let outcome = Outcome {
            category,
            verb: "",
            id: record.id.clone(),
            name: record.name.clone(),
            changes: None,
            metadata: Map::new(),
        };
        (outcome, result)
    }

    pub(super) fn diff(tree: ChangeTree) -> Option<Changes> {
        (!tree.is_empty()).then_some(Changes::Diff(tree))
    }

    pub(super) fn update(&mut self, category: Category, i: usize) -> Outcome {
        let want = self.changes_per_update();
        let fields = category_def(category).fields;
        let (mut o, tree) = self.with_record(category, i, |g, state, _| {
            let mut tree = ChangeTree::new();
            for _ in 0..10 {
                tree = g.mutate(fields, state, want);
                if !tree.is_empty() {
                    break;
                }
            }
            tree
        });
        o.verb = "update";
        o.changes = Self::diff(tree);
        o
    }

    // ---- Sessions -----------------------------------------------------
}
