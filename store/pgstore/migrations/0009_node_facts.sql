-- What a node says about itself for operators (sundial.Node.Facts), such
-- as how it confines its tasks: a JSON object of names to values.
ALTER TABLE sundial_nodes ADD COLUMN facts TEXT;
